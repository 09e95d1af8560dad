/* templates - conf-templates/main.cf.in and master.cf.in, built in.
 *
 * The files are pulled in by the assembler (.incbin, paths relative to the
 * top of the tree, where make runs) and NUL-terminated, so the firmware
 * needs no template directory at run time. The Makefile makes this object
 * depend on the two files. */
#include <string.h>

#include "conf/settings.h"

__asm__(".section .rodata.settings_templates,\"a\"\n"
	".globl settings_tpl_main_cf\n"
	"settings_tpl_main_cf:\n"
	".incbin \"conf-templates/main.cf.in\"\n"
	".byte 0\n"
	".globl settings_tpl_master_cf\n"
	"settings_tpl_master_cf:\n"
	".incbin \"conf-templates/master.cf.in\"\n"
	".byte 0\n"
	".previous\n");

extern const char settings_tpl_main_cf[];
extern const char settings_tpl_master_cf[];

const char *settings_template(const char *name)
{
	if (strcmp(name, "main.cf") == 0)
		return settings_tpl_main_cf;
	if (strcmp(name, "master.cf") == 0)
		return settings_tpl_master_cf;
	return NULL;
}
