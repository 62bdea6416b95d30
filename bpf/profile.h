/* SPDX-License-Identifier: GPL-2.0 */
/* Profiles of the system-wide locks; mirrored by src/policy.rs (Profile). */
#ifndef BPFLOCK_PROFILE_H
#define BPFLOCK_PROFILE_H

#define PROFILE_ALLOW      0
#define PROFILE_BASELINE   1
#define PROFILE_RESTRICTED 2

#endif
