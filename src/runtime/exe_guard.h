// CVE-2019-5736 ("runc breakout"): a container whose command resolves to /proc/self/exe
// (directly, by a symlink, or as a script's "#!/proc/self/exe" interpreter) runs the mydock
// binary itself inside the container, because the clone child still *is* mydock at execve.
// Code loaded into it (the image supplies the dynamic loader and libraries) could then hold
// /proc/self/exe open and write the host's binary once it is no longer busy.
//
// The guard: before `run` does anything, mydock re-executes itself from a read-only bind
// mount of its own binary, in a private mount namespace of its own. From then on
// /proc/self/exe of mydock and of every clone child names that read-only mount: any write
// through it fails with EROFS, whoever holds it and for as long as they hold it. The mount
// lives only in mydock's namespace (the host's mount table never sees it) and goes away with
// the last process that references it. Cost: one unshare, two mounts and one execve.
#pragma once

namespace mydock::runtime {

// Call first thing in a verb that starts containers (before any output, threads or child
// processes). Returns when the binary is protected: either it already runs from a read-only
// mount, or after the re-exec (argv and environment are re-read from /proc/self, so the
// re-executed mydock runs the same command line). Throws mydock::Error (125) if it can't.
void protectSelfExe();

// True when /proc/self/exe is on a read-only mount (what protectSelfExe ensures).
bool selfExeIsReadOnly();

}  // namespace mydock::runtime
