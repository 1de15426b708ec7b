"""predict.py --watch: the input folders looked at every few seconds, and
each photo that comes in cut out once it is copied in whole; what goes
wrong meanwhile (a folder gone, an output that cannot be written, a full
drive) waits to be mended rather than ending the watch. predict.py finds
the photos and cuts them out; this module decides when.
"""

import logging
import os
import shutil
import signal
import time
from contextlib import contextmanager
from typing import NamedTuple

import data
import outputs

log = logging.getLogger("predict")  # its lines are predict.py's, about the folders it watches


# --watch: a folder that photos come into (from a camera shooting tethered, a
# photo booth, a sync folder) is looked at every WATCH_EVERY seconds, and each
# photo that has come in is cut out once its size and modification time have
# not changed since the last look, so that a photo still being copied in is
# not read half-written.
WATCH_EVERY = 2.0


def watch_folders(find, states, cut_out, summary, overwrite=False, record=None, watched="the input folders",
                  folders=(), output_root=None, full=None):
    """Until Ctrl-C, every WATCH_EVERY seconds: `find()` the (photo, output)
    jobs of the input folders and the sub-folders that cannot be read (see
    predict.find_photos), and `cut_out` (which returns {photo: why} of those
    that failed, and a predict.DiskFull or None) those of photos ready (see
    ready_photos). The photos of `states` (photo -> file_state) were cut
    out, or failed, or skipped, in that state already, but for those
    `waiting` in `full`, the DiskFull that stopped the run before the watch,
    if any; a failed one is tried again once its file changes, or where its
    output could not be written (an outputs.WriteFailure), after a while
    (see write_retry_wait), and with `overwrite` a photo changed since its
    output was made is cut out again. A photo's failure in the
    predict.Summary is replaced by the outcome of its next try: a failure
    mended leaves it. `record()` lists the outputs (see WatchListing). The
    log names what is `watched`, and what goes wrong at a look and then
    right again (see look_at_inputs; `folders`: the input folders at the
    start; `output_root`: the folder the outputs go under). A full disk is
    one of those: the photos wait, and once there may be room (see
    room_to_write_again), one is tried, and the rest cut out if it was
    written. Stopped while the drive is still full, it raises the DiskFull."""
    log.info("watching %s for photos that come in (every %g s); Ctrl-C stops", watched, WATCH_EVERY)
    seen = {photo: state for photo, state in states.items() if state}
    done, retries = {}, {}  # the photos of the run before the watch, booked as those of a look are
    book_outcomes(seen.keys(), dict(summary.failed), full, seen, done, retries)
    troubles = set()
    listing = WatchListing(record, unlisted=bool(summary.judged))  # the outputs of the run before the watch
    if full:
        out_of_room(full, output_root)
    try:
        while True:
            wait_for_photos(WATCH_EVERY)
            jobs, troubles = look_at_inputs(find, folders, troubles, output_root)
            if jobs is None:  # nothing to cut out at this look: the photos' states stay as they were, unchecked
                continue
            listing.list_if_due()
            forget_photos_gone(jobs, seen, done)
            for photo in retries.keys() - seen.keys():  # moved away
                del retries[photo]
            ready = [job for job in ready_photos(jobs, seen, done, overwrite) if not retry_later(job[0], retries, seen)]
            if not ready or full and not room_to_write_again(full, output_root):
                continue
            for part in [ready[:1], ready[1:]] if full else [ready]:  # one photo tries whether there is room
                tried = {photo for photo, _ in part}
                summary.failed = [(photo, why) for photo, why in summary.failed if photo not in tried]  # said anew
                failed, full_now = cut_out(part)
                finished = book_outcomes(tried, failed, full_now, seen, done, retries)
                listing.add(finished)
                say_cut_out(finished - failed.keys())
                listing.list_if_due()
                if full_now:
                    full = out_of_room(full_now, output_root, said=full is not None)
                    break
                if full:
                    log.info("there is room to write in %s again: the photos that waited are cut out", output_root)
                    full = None
    except KeyboardInterrupt:  # how watching ends: the outputs under way were finished (see predict.cutouts)
        log.info("stopped watching")
    if full:  # photos left waiting for room: the run ends as one without --watch would have
        raise full


# sureness.csv is rewritten whole, least sure first, with the outputs of
# earlier runs there: 0.6 s at 100,000 lines. A watch, which rewrites it after
# each look that wrote outputs, does so at most as often as keeps that to this
# share of its time, so that an output folder with a long history does not
# slow the cutting out of the photos that come in.
RECORD_TIME_SHARE = 0.1


def record_due(last_began, last_took):
    """Whether a watch may record the sureness of its outputs now, the last
    record having begun at `last_began` (time.monotonic()) and taken
    `last_took` seconds (see RECORD_TIME_SHARE)."""
    return time.monotonic() - last_began >= last_took / RECORD_TIME_SHARE


class WatchListing:
    """When a watch lists its outputs in sureness.csv (`record()`, or None
    for no list): after the looks that cut out photos, or found the outputs
    of the run before it `unlisted`, but no more often than record_due
    allows, the rest left to a later look, and to the end of the run."""

    def __init__(self, record, unlisted=False):
        self.record, self.unlisted = record, unlisted and record is not None
        self.last_began = self.last_took = 0.0

    def add(self, photos):
        self.unlisted = self.unlisted or bool(photos and self.record)

    def list_if_due(self):
        if self.unlisted and record_due(self.last_began, self.last_took):
            self.last_began = time.monotonic()
            self.record()
            self.last_took, self.unlisted = time.monotonic() - self.last_began, False


def say_cut_out(photos, listed=3):
    """Logs the photos cut out at a look of --watch, if any: in a service's
    log, where no progress bar is drawn, the one line a look leaves."""
    if photos:
        names = sorted(str(photo) for photo in photos)
        log.info("cut out %d photo%s that came in: %s%s", len(names), "s" if len(names) > 1 else "",
                 ", ".join(names[:listed]), ", ..." if len(names) > listed else "")


def book_outcomes(tried, failed, full, seen, done, retries):
    """The photos of `tried` (at a look of --watch, or in the run before it)
    that were cut out or failed, rather than left waiting for room by `full`
    (a predict.DiskFull, or None), each booked: done in its state (`seen`),
    or where its output could not be written (an outputs.WriteFailure in
    `failed`, {photo: why}), to be tried again (see write_retry_wait)."""
    finished = tried - (full.waiting if full else set())
    for photo in finished:
        if isinstance(failed.get(photo), outputs.WriteFailure):
            retry_write(photo, seen[photo], retries)
        else:
            retries.pop(photo, None)
            done[photo] = seen[photo]
    return finished


class WriteRetry(NamedTuple):
    """A photo whose output could not be written, under --watch: its
    file_state then, the time.monotonic() of its next try, and the wait
    before it."""
    state: tuple
    at: float
    wait: float


# A photo whose output could not be written is tried again a minute on, then
# after twice the last wait, up to an hour: a network drive's blip is mended
# within minutes, and what stays wrong costs a photo through the model an hour.
WRITE_RETRY_FIRST_SECONDS, WRITE_RETRY_MOST_SECONDS = 60.0, 3600.0


def write_retry_wait(last_wait):
    """The wait before the next try of a photo whose output could not be
    written, `last_wait` before the last (0: it was its first)."""
    return min(2 * last_wait, WRITE_RETRY_MOST_SECONDS) if last_wait else WRITE_RETRY_FIRST_SECONDS


def retry_write(photo, state, retries):
    """Books in `retries` the next try of `photo` (in its file_state
    `state`), whose output could not be written: after the wait that
    write_retry_wait gives after its last one."""
    wait = write_retry_wait(retries[photo].wait if photo in retries else 0)
    retries[photo] = WriteRetry(state, time.monotonic() + wait, wait)


def retry_later(photo, retries, seen):
    """Whether `photo`, ready at a look of --watch, waits for its next try
    (see WriteRetry) rather than being cut out now; a photo changed since
    its output could not be written is a new one, tried at once."""
    retry = retries.get(photo)
    if retry is None:
        return False
    if seen.get(photo) != retry.state:
        del retries[photo]
        return False
    return time.monotonic() < retry.at


# A watch that found the outputs' drive full tries one photo again once the
# drive has more space free than then, or every ROOM_RETRY_SECONDS: a quota
# raised does not show in the space free.
ROOM_RETRY_SECONDS = 60.0


def out_of_room(full, output_root, said=False):
    """`full`, a predict.DiskFull met under --watch, with the space free on
    the outputs' drive noted, having warned of it unless `said` already."""
    if not said:
        log.warning("cannot write %s: %s; the photos that come in wait until there is room (the outputs written so "
                    "far are kept)", full.output, full.why)
    full.free = free_space(output_root)
    return full


def free_space(folder):
    """Bytes free on `folder`'s drive; None where that cannot be told."""
    try:
        return shutil.disk_usage(folder).free
    except OSError:
        return None


def room_to_write_again(full, output_root):
    """Whether a watch that found the outputs' drive full (`full`, a
    DiskFull, see out_of_room) is to try writing again: once the drive has
    more space free than then (files deleted), or where that cannot be told,
    or ROOM_RETRY_SECONDS after the last try."""
    free = free_space(output_root)
    return (free is None or full.free is None or free > full.free
            or time.monotonic() - full.when >= ROOM_RETRY_SECONDS)


class Trouble(NamedTuple):
    """Something wrong at a look of --watch: said when it begins (`begun`) and when it ends (`ended`)."""
    begun: str
    ended: str


def look_at_inputs(find, folders, troubles=frozenset(), output_root=None):
    """(`find()`'s jobs, or None, the Troubles of this look), saying the
    troubles that began since the last look's `troubles`, and those that
    ended, once each rather than every WATCH_EVERY seconds: a folder of
    `folders` gone (moved, or its drive or network share gone), a sub-folder
    that cannot be read, whose photos wait, and inputs that cannot be read
    (a folder whose permissions changed, an @FILE list deleted), or an
    `output_root` that cannot be written (see
    outputs.output_folder_trouble), either of which leaves nothing to cut
    out at this look (jobs None), so that the photos wait rather than fail.
    Each may be mended by the next: the watch goes on. What conflicts (two
    photos for one output) stays so, and is the predict.PredictError that
    ends it."""
    now = {Trouble(f"{folder} is gone (moved, deleted, or its drive unplugged): watching for it to come back",
                   f"{folder} is back: watching it again")
           for folder in folders if not os.path.isdir(folder)}  # (False too where that cannot be told)
    try:
        jobs, unreadable = find()
        now.update(Trouble(f"cannot read the folder {folder} ({why}): its photos wait until it can be read",
                           f"the folder {folder} can be read again") for folder, why in unreadable)
    except (OSError, data.DatasetError) as error:
        jobs = None
        now.add(Trouble(f"cannot look at the inputs: {error}; looking again every {WATCH_EVERY:g} s",
                        "the inputs can be looked at again"))
    output_trouble = output_root and outputs.output_folder_trouble(output_root)
    if output_trouble:
        jobs = None
        now.add(Trouble(f"{output_trouble}; the photos that come in wait until it can be written",
                        f"the output folder {output_root} can be written again"))
    for trouble in sorted(now - troubles):
        log.warning(trouble.begun)
    for trouble in sorted(troubles - now):
        log.info(trouble.ended)
    return jobs, now


@contextmanager
def sigterm_as_ctrl_c():
    """Meanwhile, SIGTERM (a service stopped: systemctl stop, docker stop)
    stops the run as Ctrl-C does, the outputs under way finished."""
    previous = signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def wait_for_photos(seconds):
    """The wait between two looks at watched folders (a test stands in for it)."""
    time.sleep(seconds)


def file_state(path):
    """(size, modification time) of the file at `path`; None where it is gone."""
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_size, stat.st_mtime_ns


def forget_photos_gone(jobs, seen, done):
    """Drops from `seen` and `done` (photo -> file_state, see ready_photos)
    the photos that are not among a look's (photo, output) `jobs` because
    they have left a folder that is still there (moved away once cut out,
    as a hot folder's photos are), so that a watch that runs for months
    holds the states of the photos there, not of every photo it has seen.
    Those of a folder gone (a drive unplugged) are kept, so that on its
    return they are not cut out again, as --overwrite would have them."""
    present = {photo for photo, _ in jobs}
    for photo in [photo for photo in seen.keys() | done.keys() if photo not in present]:
        try:
            moved_away = photo.parent.is_dir() and not photo.exists()
        except OSError:  # its folder cannot be read now (permissions): whether it left cannot be told
            continue
        if moved_away:
            seen.pop(photo, None)
            done.pop(photo, None)


def ready_photos(jobs, seen, done, overwrite=False):
    """The (photo, output) jobs to run of `jobs`, found at a look at the
    folders: photos whose file is as it was at the last look (`seen`: photo
    -> file_state, brought up to date here), so that a photo still being
    copied in waits; not cut out (or failed) in that state (`done`); and
    whose output is not there, unless `overwrite`."""
    ready = []
    for photo, output in jobs:
        state = file_state(photo)
        unchanged, seen[photo] = state is not None and seen.get(photo) == state, state
        if unchanged and done.get(photo) != state and (overwrite or not outputs.output_there(output)):
            ready.append((photo, output))
    return ready
