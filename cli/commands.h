/* commands.h - the handlers of hvctl's command table (main.c), by file. */
#ifndef HVCTL_COMMANDS_H
#define HVCTL_COMMANDS_H

#include "hvctl.h"

#define HVCTL_HANDLER(name) int name(struct hvctl *h, const struct hvctl_cmd *cmd, int argc, char **argv)

/* cmd_info.c: reads */
HVCTL_HANDLER(cmd_list);
HVCTL_HANDLER(cmd_dominfo);
HVCTL_HANDLER(cmd_domstate);
HVCTL_HANDLER(cmd_domstats);
HVCTL_HANDLER(cmd_faults);
HVCTL_HANDLER(cmd_selftest);
HVCTL_HANDLER(cmd_diag);
HVCTL_HANDLER(cmd_health);
HVCTL_HANDLER(cmd_version);

/* cmd_life.c: lifecycle */
HVCTL_HANDLER(cmd_start);
HVCTL_HANDLER(cmd_shutdown);
HVCTL_HANDLER(cmd_destroy);
HVCTL_HANDLER(cmd_reboot);
HVCTL_HANDLER(cmd_reset);
HVCTL_HANDLER(cmd_suspend);
HVCTL_HANDLER(cmd_resume);
HVCTL_HANDLER(cmd_define);
HVCTL_HANDLER(cmd_undefine);

/* cmd_watch.c: streams and rings */
HVCTL_HANDLER(cmd_event);
HVCTL_HANDLER(cmd_console);

#endif /* HVCTL_COMMANDS_H */
