"""Drives a command on a pty of its own, as someone at a terminal would (for the e2e tests).

    from ptyexpect import PtySession
    s = PtySession(["mydock", "run", "-it", IMG, "sh"], rows=33, cols=101)
    s.expect("# ")           # waits (10 s) for the text, consumes the output up to its end
    s.send(b"tty\\r")
    s.resize(40, 120)        # the window size of "our" terminal (the command gets SIGWINCH)
    s.check_ctrl_c()         # shell-prompt checks: Ctrl-C interrupts a sleep; window size
    s.check_resize(40, 120)  # follows ours (both fail the script with an AssertionError/exit)
    print("exit", s.wait())  # its exit status, docker-style (128+N for a signal)

A timeout or EOF in expect() exits the script with a message (after closing the master, which
hangs the command up, and killing it if it is still there 2 s later).
"""
import fcntl
import os
import pty
import select
import struct
import sys
import termios
import time


def _winsize(rows, cols):
    return struct.pack("HHHH", rows, cols, 0, 0)


class PtySession:
    def __init__(self, argv, rows=None, cols=None):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            if rows is not None:
                fcntl.ioctl(0, termios.TIOCSWINSZ, _winsize(rows, cols))
            os.execvp(argv[0], argv)
        self.buf = b""

    def bail(self, msg):
        # closing the master hangs the command up; make sure it is gone before we fail
        os.close(self.fd)
        time.sleep(2)
        try:
            os.kill(self.pid, 9)
        except ProcessLookupError:
            pass
        sys.exit(msg)

    def expect(self, pat, timeout=10):
        end = time.time() + timeout
        while pat.encode() not in self.buf:
            left = end - time.time()
            if left <= 0:
                self.bail("timeout waiting for %r; got %r" % (pat, self.buf))
            r, _, _ = select.select([self.fd], [], [], left)
            if r:
                try:
                    data = os.read(self.fd, 4096)
                except OSError:
                    data = b""
                if not data:
                    self.bail("EOF waiting for %r; got %r" % (pat, self.buf))
                self.buf += data
        self.buf = self.buf[self.buf.index(pat.encode()) + len(pat):]

    def send(self, data):
        os.write(self.fd, data)

    def resize(self, rows, cols):
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, _winsize(rows, cols))

    def check_ctrl_c(self, prompt="# "):
        """At a shell's prompt: Ctrl-C interrupts a foreground `sleep 30` (within 5 s)."""
        self.send(b"sleep 30\r")
        time.sleep(0.7)
        t0 = time.time()
        self.send(b"\x03")
        self.expect(prompt)
        assert time.time() - t0 < 5, "Ctrl-C did not interrupt sleep"

    def check_resize(self, rows, cols, prompt="# "):
        """At a shell's prompt: the window size follows ours (SIGWINCH), as `stty size` says."""
        self.resize(rows, cols)
        time.sleep(0.5)
        self.send(b"stty size\r")
        self.expect("%d %d" % (rows, cols))
        self.expect(prompt)

    def read_all(self):
        """Everything the command writes until it closes the terminal."""
        out = b""
        while True:
            try:
                d = os.read(self.fd, 4096)
            except OSError:
                break
            if not d:
                break
            out += d
        return out

    def wait(self):
        _, status = os.waitpid(self.pid, 0)
        return os.waitstatus_to_exitcode(status)
