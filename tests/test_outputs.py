"""outputs.py: output files written whole or not at all, in the formats they
can hold. What predict.py writes into them (cutouts, masks, composites, with
their photos' metadata) is tested in test_predict.py."""

import cv2
import numpy as np
import pytest

import outputs


def test_an_output_too_wide_for_webp_is_refused_naming_the_way_out_and_nothing_is_written(tmp_path):
    panorama = np.zeros((20, outputs.WEBP_MAX_SIDE + 1, 4), np.uint8)
    with pytest.raises(ValueError, match=r"WebP holds at most 16383 pixels a side, and this output is 16384x20: "
                                         r"write it as a PNG \(without --webp\)"):
        outputs.write_atomically(tmp_path / "panorama.webp", panorama)
    assert list(tmp_path.iterdir()) == []
    outputs.write_atomically(tmp_path / "panorama.webp", panorama[:, :outputs.WEBP_MAX_SIDE])
    assert cv2.imread(str(tmp_path / "panorama.webp"), cv2.IMREAD_UNCHANGED).shape == (20, outputs.WEBP_MAX_SIDE, 4)


def test_a_failed_write_leaves_no_partial_file_and_keeps_the_old_output(tmp_path, monkeypatch):
    target = tmp_path / "a.png"
    target.write_bytes(b"old")

    def broken_replace(source, destination):
        raise OSError("disk full")

    monkeypatch.setattr(outputs.os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        outputs.write_atomically(target, np.zeros((4, 4, 4), np.uint8))
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.png"]
