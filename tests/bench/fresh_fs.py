# SPDX-License-Identifier: LGPL-2.1-or-later
"""A fresh ext4 file system for a benchmark cell's state directory.

/tmp on these machines has just seen the test suite create and delete tens of
thousands of files; ext4 then walks past every recently deleted inode each
time it allocates a new one (find_inode_bit → recently_deleted), which makes
creating a thousand files cost seconds. A real cell's /var/lib/pic is a quiet
file system, so the benchmarks measure on one: a loop-mounted image of their
own, unmounted at cleanup."""

import os
import time
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'integration'))
import harness as h  # noqa: E402


def backing_fs(path):
    """The file system type path is on (statfs), e.g. 'ext2/ext3' (ext4) or 'tmpfs'."""
    return h.run(['stat', '-f', '-c', '%T', path]).stdout.strip()


def fresh_ext4(world, name, size_mb=1024, also_in_pids=()):
    """A fresh ext4 image in the world's directory (which must be on a disk, not tmpfs: there fsync
    is free), loop-mounted at <world>/<name> here and in the mount namespaces of also_in_pids."""
    image = os.path.join(world.path, name + '.img')
    if backing_fs(world.path) == 'tmpfs':
        raise RuntimeError('%s is on tmpfs: fsync would cost nothing there' % world.path)
    mountpoint = world.subdir(name, 0o700)
    with open(image, 'wb') as f:
        f.truncate(size_mb * 1024 * 1024)
    h.run(['mkfs.ext4', '-q', '-F', image])
    # one loop device mounted in each namespace: one file system (two loop devices on one image
    # would be two file systems writing the same blocks)
    dev = h.run(['losetup', '--find', '--show', image]).stdout.strip()
    try:
        h.run(['mount', dev, mountpoint])
        world.add_cleanup(lambda: h.run(['umount', '-l', mountpoint], check=False))
        for pid in also_in_pids:
            h.run(['nsenter', '--mount=/proc/%d/ns/mnt' % pid, 'mount', dev, mountpoint])
    finally:
        h.run(['losetup', '-d', dev], check=False)  # busy: detached when the last mount goes
    return mountpoint


def put_state_on_fresh_ext4(world, cell, name):
    """Moves a (not yet started) cell's state directory onto a fresh ext4 file system.

    Under a systemd manager the daemon's unit sees the manager's mount namespace (a slave
    made when the manager started, so a mount made here later never reaches it): the file
    system is mounted there too, or the daemon would write to the directory under it."""
    manager = getattr(cell.bus, 'proc', None) if cell.service_manager == 'systemd' else None
    mountpoint = fresh_ext4(world, name, also_in_pids=[manager.pid] if manager else ())
    cell.state_dir = os.path.join(mountpoint, 'state')
    os.mkdir(cell.state_dir, 0o700)
    cell.install()
    return cell.state_dir


def durable_writes(directory, n):
    """What one state write costs on this file system: write, fsync, rename, fsync dir."""
    dfd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        t0 = time.monotonic()
        for i in range(n):
            tmp = os.path.join(directory, '.#w%d' % i)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT, 0o600)
            os.write(fd, b'x' * 300)
            os.fsync(fd)
            os.close(fd)
            os.rename(tmp, os.path.join(directory, 'w%d' % i))
            os.fsync(dfd)
        return time.monotonic() - t0
    finally:
        os.close(dfd)
