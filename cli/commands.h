/* commands.h - the handlers of hvctl's command table (table.c), by file. */
#ifndef HVCTL_COMMANDS_H
#define HVCTL_COMMANDS_H

#include "hvctl.h"

#define HVCTL_HANDLER(name) int name(struct hvctl *h, const struct hvctl_args *a)

/* cmd_info.c: reads */
HVCTL_HANDLER(cmd_list);
HVCTL_HANDLER(cmd_dominfo);
HVCTL_HANDLER(cmd_domstate);
HVCTL_HANDLER(cmd_domid);
HVCTL_HANDLER(cmd_domname);
HVCTL_HANDLER(cmd_domuuid);
HVCTL_HANDLER(cmd_domstats);

/* cmd_diag.c: the agent and the hypervisor */
HVCTL_HANDLER(cmd_faults);
HVCTL_HANDLER(cmd_selftest);
HVCTL_HANDLER(cmd_diag);
HVCTL_HANDLER(cmd_health);
HVCTL_HANDLER(cmd_version);
HVCTL_HANDLER(cmd_audit);

/* cmd_safety.c: the vehicle state and the safety policy */
HVCTL_HANDLER(cmd_vehicle);
HVCTL_HANDLER(cmd_policy);
HVCTL_HANDLER(cmd_pending);

/* cmd_life.c: lifecycle */
HVCTL_HANDLER(cmd_start);
HVCTL_HANDLER(cmd_shutdown);
HVCTL_HANDLER(cmd_destroy);
HVCTL_HANDLER(cmd_reboot);
HVCTL_HANDLER(cmd_reset);
HVCTL_HANDLER(cmd_suspend);
HVCTL_HANDLER(cmd_resume);
HVCTL_HANDLER(cmd_undefine);
HVCTL_HANDLER(cmd_autostart);
HVCTL_HANDLER(cmd_load_image);

/* cmd_config.c: stored configurations */
HVCTL_HANDLER(cmd_define);
HVCTL_HANDLER(cmd_dumpconfig);
HVCTL_HANDLER(cmd_edit);
HVCTL_HANDLER(cmd_config_history);
HVCTL_HANDLER(cmd_config_rollback);

/* cmd_watch.c: streams and rings */
HVCTL_HANDLER(cmd_event);
HVCTL_HANDLER(cmd_console);
/* Attaches to VM's console as `console` does (start --console). */
int console_attach(struct hvctl *h, const char *vm, bool follow, uint64_t from);
/* The terminal in raw input mode (no echo, no line editing; signals and
 * output processing stay on), and back as it was. */
void tty_raw(void);
void tty_restore(void);

/* cmd_top.c: the live view */
HVCTL_HANDLER(cmd_top);

/* cmd_fleet.c: the fleet link */
HVCTL_HANDLER(cmd_fleet);

/* main.c: local */
HVCTL_HANDLER(cmd_help);
HVCTL_HANDLER(cmd_pki);
HVCTL_HANDLER(cmd_ota);
/* cmd_ota.c: `ota install|status|history` (argv[0] is the subcommand) */
int cmd_ota_remote(struct hvctl *h, int argc, char **argv);

#endif /* HVCTL_COMMANDS_H */
