/*
 * skrctl policy: offline release-policy tools.
 *
 *   skrctl policy check FILE
 *   skrctl policy eval --token FILE --jwks FILE --policy FILE
 *                      [--issuer URL] [--at UNIXTIME] [--skew SECONDS]
 *                      [--json]
 *
 * Exit status: 0 valid / allowed, 1 error, 2 usage or (check) invalid
 * policy, 3 denied.
 */
#ifndef SKR_CLIENT_SKRCTL_POLICY_H
#define SKR_CLIENT_SKRCTL_POLICY_H

/* argv[0] is "policy".  Writes to stdout and stderr; returns the exit
 * status. */
int skrctl_policy_main(int argc, char **argv);

#endif
