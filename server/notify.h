/*
 * The systemd readiness protocol (sd_notify(3)), spoken directly: one
 * datagram of "VAR=value" lines to the AF_UNIX socket named by
 * $NOTIFY_SOCKET (a path, or an abstract name written with a leading '@').
 * Without NOTIFY_SOCKET nothing is sent, so skrd behaves the same outside
 * systemd.
 */
#ifndef SKR_SERVER_NOTIFY_H
#define SKR_SERVER_NOTIFY_H

/*
 * Send state ("READY=1", "RELOADING=1", "STOPPING=1", "STATUS=...", lines
 * joined by '\n').  Returns 1 when sent, 0 when NOTIFY_SOCKET is unset or
 * empty, or an skr error (SKR_ERR_CONFIG for a malformed socket name,
 * SKR_ERR_IO when the send fails).
 */
int skr_notify(const char *state);

#endif
