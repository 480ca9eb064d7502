"""Runs a program under a pseudo-terminal, waits for PROMPT, then for the
terminal's echo to be switched off (at most 5 s), types ANSWER and a
newline, and prints everything the terminal showed; exits with the
program's exit code. Usage: pty_answer.py PROMPT ANSWER PROGRAM ARGS..."""
import os
import pty
import select
import sys
import termios
import time

prompt, answer, argv = sys.argv[1].encode(), sys.argv[2].encode(), sys.argv[3:]
pid, fd = pty.fork()
if pid == 0:
    os.execv(argv[0], argv)


def read_some(timeout):
    ready, _, _ = select.select([fd], [], [], timeout)
    if not ready:
        return None
    try:
        return os.read(fd, 4096)
    except OSError:
        return b""


shown = b""
deadline = time.time() + 60
while prompt not in shown and time.time() < deadline:
    data = read_some(1)
    if data == b"":
        break
    shown += data or b""
deadline = time.time() + 5
while termios.tcgetattr(fd)[3] & termios.ECHO and time.time() < deadline:
    time.sleep(0.05)
os.write(fd, answer + b"\n")
while True:
    data = read_some(60)
    if not data:
        break
    shown += data
_, status = os.waitpid(pid, 0)
sys.stdout.buffer.write(shown)
sys.exit(os.waitstatus_to_exitcode(status))
