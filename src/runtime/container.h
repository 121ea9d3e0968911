// A container's life in the parent: container dir, cgroup, clone, the setup protocol with the
// child, I/O relay, signal forwarding, exit status, teardown (RAII, reverse order).
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>

#include "runtime/spec.h"

namespace mydock::runtime {

struct ExitStatus {
    int code = 0;            // docker's: the command's, 128+N for signal N
    int signal = 0;          // the signal that killed the command, 0 if it exited
    bool oomKilled = false;  // the cgroup's OOM killer fired (code is then 137)
};

// Creates upper/, work/, merged/ and the /etc files (hostname, hosts, resolv.conf) in
// spec.containerDir. Idempotent.
void prepareContainerDir(const ContainerSpec& spec);

// Runs the container to its end. `onStarted(pid)` is called once the command was exec'd
// (pid as seen from the host). Throws mydock::Error when the container cannot start: exit
// code 125 for setup failures, 126 when the command cannot be invoked, 127 when not found.
// Signals INT, TERM, HUP, QUIT, USR1, USR2 (and WINCH without -t) sent to mydock meanwhile
// go to the container's first process.
ExitStatus runContainer(const ContainerSpec& spec, const std::function<void(pid_t)>& onStarted = {});

// Exit code from a wait status, docker's way (128+N for a signal).
int exitCodeFromWaitStatus(int status);

}  // namespace mydock::runtime
