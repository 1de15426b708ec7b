"""watching.py, the bookkeeping of predict.py --watch. The watch itself, run
through predict.py on folders that photos come into, is tested in
test_predict.py."""

import errno
import logging
import time
from pathlib import Path

import pytest

import watching


def test_a_look_of_watch_that_cut_photos_out_names_them_in_one_line(caplog):
    caplog.set_level(logging.INFO)
    watching.say_cut_out(set())  # a look that cut nothing out says nothing
    watching.say_cut_out({Path("in/e.jpg"), Path("in/b.jpg"), Path("in/a.jpg"), Path("in/d.jpg")})
    assert caplog.messages == [f"cut out 4 photos that came in: {Path('in/a.jpg')}, {Path('in/b.jpg')}, "
                               f"{Path('in/d.jpg')}, ..."]


def test_a_photo_whose_output_could_not_be_written_waits_a_minute_then_twice_as_long_up_to_an_hour(monkeypatch):
    waits = [watching.write_retry_wait(0)]
    while len(waits) < 9:
        waits.append(watching.write_retry_wait(waits[-1]))
    assert waits == [60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]
    monkeypatch.setattr(time, "monotonic", lambda: 1000.0)
    retries = {Path("a.jpg"): watching.WriteRetry((10, 1), at=1060.0, wait=60.0),
               Path("b.jpg"): watching.WriteRetry((10, 1), at=1000.0, wait=60.0)}
    seen = {Path("a.jpg"): (10, 1), Path("b.jpg"): (10, 1), Path("c.jpg"): (10, 1)}
    assert watching.retry_later(Path("a.jpg"), retries, seen)         # its minute not yet up
    assert not watching.retry_later(Path("b.jpg"), retries, seen)     # up
    assert not watching.retry_later(Path("c.jpg"), retries, seen)     # never failed
    seen[Path("a.jpg")] = (12, 2)
    assert not watching.retry_later(Path("a.jpg"), retries, seen) and Path("a.jpg") not in retries  # a new photo


def test_a_watch_records_the_sureness_again_once_a_tenth_of_its_time_went_to_it(monkeypatch):
    monkeypatch.setattr(time, "monotonic", lambda: 1004.9)
    assert not watching.record_due(1000.0, 0.5)  # 0.5 s of the 4.9 since it began
    monkeypatch.setattr(time, "monotonic", lambda: 1005.0)
    assert watching.record_due(1000.0, 0.5) and watching.record_due(0.0, 0.0)


def test_watch_forgets_the_photos_moved_out_of_a_folder_but_not_those_of_a_folder_gone(tmp_path):
    kept, moved, unplugged = (tmp_path / folder / "a.jpg" for folder in ("in", "in2", "drive"))
    for photo in (kept, moved, unplugged):  # its state is all a watch reads of a photo before it is ready
        photo.parent.mkdir()
        photo.write_bytes(b"a photo")
    states = {photo: watching.file_state(photo) for photo in (kept, moved, unplugged)}
    seen, done = dict(states), dict(states)
    moved.rename(tmp_path / "elsewhere.jpg")                     # a hot folder's photo, moved away once cut out
    (tmp_path / "drive").rename(tmp_path / "unplugged")          # its photos come back with it
    watching.forget_photos_gone([(kept, tmp_path / "out" / "a.png")], seen, done)
    assert seen == done == {kept: states[kept], unplugged: states[unplugged]}
    watching.forget_photos_gone([], seen, done)                   # a look that found nothing, the photos there
    assert seen == done == {kept: states[kept], unplugged: states[unplugged]}
    exists = Path.exists

    def exists_but_locked(path):  # as a folder's permissions taken away make a photo's stat fail
        if path == kept:
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return exists(path)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Path, "exists", exists_but_locked)
        watching.forget_photos_gone([], seen, done)               # whether it is there cannot be told: kept
    assert seen == done == {kept: states[kept], unplugged: states[unplugged]}
