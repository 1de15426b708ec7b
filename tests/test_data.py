import logging
import os
import re
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

import data
import image_files
import scores
from conftest import NOT_UTF8, REPO_DIR, draw_person, fake_pairs, rename_pair, write_png, write_sample


# --- pairing ---------------------------------------------------------------

def test_pairs_are_matched_by_stem_not_by_sort_order(tmp_path, rng):
    image, mask = draw_person(rng, 32, 32)
    for stem in ("b", "a", "c"):
        write_png(tmp_path / "images" / f"{stem}.png", image)
    for stem in ("c", "a", "b"):
        write_png(tmp_path / "masks" / f"{stem}.png", mask)
    pairs = data.find_pairs(tmp_path / "images", tmp_path / "masks")
    assert [(i.name, m.name) for i, m in pairs] == [("a.png", "a.png"), ("b.png", "b.png"), ("c.png", "c.png")]


def test_unmatched_files_are_reported_by_name_and_left_out(tmp_path, rng, caplog):
    image, mask = draw_person(rng, 32, 32)
    for stem in ("x1", "x2", "lonely_image"):
        write_png(tmp_path / "images" / f"{stem}.jpg", image)
    for stem in ("x1", "x2", "lonely_mask"):
        write_png(tmp_path / "masks" / f"{stem}.png", mask)
    with caplog.at_level(logging.WARNING):
        pairs = data.find_pairs(tmp_path / "images", tmp_path / "masks")
    assert [i.stem for i, _ in pairs] == ["x1", "x2"]
    assert "images without a mask, left out: 1 (" in caplog.text and "lonely_image.jpg" in caplog.text
    assert "masks without an image, left out: 1 (" in caplog.text and "lonely_mask.png" in caplog.text


def test_files_of_other_formats_are_reported_not_silently_dropped(tmp_path, rng, caplog):
    image, mask = draw_person(rng, 32, 32)
    write_png(tmp_path / "images" / "x1.jpg", image)
    (tmp_path / "images" / "x2.cr2").write_bytes(b"II*\x00")  # a camera's RAW file
    write_png(tmp_path / "masks" / "x1.png", mask)
    (tmp_path / "masks" / "x2.psd").write_bytes(b"8BPS")  # a mask in an editor's own format
    (tmp_path / "masks" / ".DS_Store").write_bytes(b"")
    (tmp_path / "masks" / "sureness.csv").write_text("output,photo,sureness,person_share\n")  # predict.py's own list
    with caplog.at_level(logging.WARNING):
        assert [i.stem for i, _ in data.find_pairs(tmp_path / "images", tmp_path / "masks")] == ["x1"]
    image_formats, mask_formats = "/".join(image_files.IMAGE_EXTENSIONS), "/".join(image_files.MASK_EXTENSIONS)
    assert f"image files not read, not {image_formats}: 1 ({tmp_path / 'images' / 'x2.cr2'})" in caplog.text
    assert f"mask files not read, not {mask_formats}: 1 ({tmp_path / 'masks' / 'x2.psd'})" in caplog.text
    assert ".DS_Store" not in caplog.text and "sureness.csv" not in caplog.text


@pytest.mark.parametrize("image_suffix, mask_suffix", [("", "_mask"), ("", "-matte"), ("_img", "_mask"), ("", " mask")])
def test_masks_named_after_their_photo_plus_a_suffix_are_paired_by_the_name_before_it(
        tmp_path, rng, caplog, image_suffix, mask_suffix):
    image, mask = draw_person(rng, 32, 32)
    for stem in ("a_b", "cb", "lonely"):  # "b" ends two names: only the suffix after a separator goes
        write_png(tmp_path / "images" / f"{stem}{image_suffix}.jpg", image)
    for stem in ("a_b", "cb"):
        write_png(tmp_path / "masks" / f"{stem}{mask_suffix}.png", mask)
    with caplog.at_level(logging.INFO, logger="data"):
        pairs = data.find_pairs(tmp_path / "images", tmp_path / "masks")
    assert [(i.name, m.name) for i, m in pairs] == [(f"{stem}{image_suffix}.jpg", f"{stem}{mask_suffix}.png")
                                                    for stem in ("a_b", "cb")]
    assert f"paired by the name before the {'photos' if image_suffix else 'masks'}' suffix" in caplog.text
    assert f"images without a mask, left out: 1 ({tmp_path / 'images' / f'lonely{image_suffix}.jpg'})" in caplog.text


def test_names_that_differ_only_in_case_are_paired_where_the_match_is_one_to_one(tmp_path, rng, caplog):
    image, mask = draw_person(rng, 32, 32)
    for name in ("IMG_0001.JPG", "Photo2.jpg", "x3.jpg", "Twin.jpg", "twin.jpg"):
        write_png(tmp_path / "images" / name, image)
    for name in ("img_0001_mask.png", "photo2_mask.png", "x3_mask.png", "TWIN_mask.png"):
        write_png(tmp_path / "masks" / name, mask)
    with caplog.at_level(logging.INFO, logger="data"):
        pairs = data.find_pairs(tmp_path / "images", tmp_path / "masks")
    # The masks' suffix is taken off first, then the case set aside; "TWIN" could be either twin: left out.
    assert [(i.name, m.name) for i, m in pairs] == [
        ("IMG_0001.JPG", "img_0001_mask.png"), ("Photo2.jpg", "photo2_mask.png"), ("x3.jpg", "x3_mask.png")]
    assert ("paired regardless of case: 2 (IMG_0001.JPG with img_0001_mask.png, Photo2.jpg with photo2_mask.png)"
            in caplog.text)
    assert "masks without an image, left out: 1" in caplog.text and "TWIN_mask.png" in caplog.text


def test_masks_are_paired_by_suffix_only_where_none_is_named_as_its_photo(tmp_path, rng, caplog):
    image, mask = draw_person(rng, 32, 32)
    for stem in ("a", "b"):
        write_png(tmp_path / "images" / f"{stem}.jpg", image)
    for stem in ("a", "b_mask"):  # one named as its photo: the other is not guessed at
        write_png(tmp_path / "masks" / f"{stem}.png", mask)
    with caplog.at_level(logging.INFO, logger="data"):
        assert [i.stem for i, _ in data.find_pairs(tmp_path / "images", tmp_path / "masks")] == ["a"]
    assert "masks without an image, left out: 1" in caplog.text and "paired by the name" not in caplog.text


def test_no_matching_stems_is_an_error_naming_both_folders(tmp_path, rng):
    image, mask = draw_person(rng, 32, 32)
    write_png(tmp_path / "images" / "photo.jpg", image)
    write_png(tmp_path / "masks" / "other.png", mask)
    with pytest.raises(data.DatasetError, match="no image in .*images has a mask of the same name"):
        data.find_pairs(tmp_path / "images", tmp_path / "masks")


def test_photos_in_sub_folders_are_said_not_to_be_read_but_without_recursive(tmp_path, rng, caplog):
    image, mask = draw_person(rng, 32, 32)
    write_png(tmp_path / "images" / "shoot1" / "a.jpg", image)
    write_png(tmp_path / "masks" / "a.png", mask)
    with pytest.raises(data.DatasetError, match=r"image folder .*images has no images .*; its sub-folders are not "
                                                r"read: 1 \(.*shoot1\) \(the images must lie in .*images itself, or in "
                                                r"sub-folders read with train.py --recursive true, evaluate.py "
                                                r"--recursive\)$"):
        data.find_pairs(tmp_path / "images", tmp_path / "masks")
    write_png(tmp_path / "images" / "b.jpg", image)
    write_png(tmp_path / "masks" / "b.png", mask)
    with caplog.at_level(logging.WARNING, logger="data"):
        assert [i.name for i, _ in data.find_pairs(tmp_path / "images", tmp_path / "masks")] == ["b.jpg"]
    assert (f"image folder {tmp_path / 'images'}: its sub-folders are not read: 1 ({tmp_path / 'images' / 'shoot1'}) "
            f"(train.py --recursive true, evaluate.py --recursive read them)") in caplog.text


def test_with_recursive_photos_and_masks_in_sub_folders_are_paired_by_name_wherever_each_lies(tmp_path, rng):
    image, mask = draw_person(rng, 32, 32)
    for photo, its_mask in (("shoot1/a.jpg", "a.png"), ("b.jpg", "b.png"), ("shoot1/day2/c.jpg", "shoot1/day2/c.png"),
                            (".ipynb_checkpoints/d.jpg", "d.png")):  # a hidden folder's photo: not read
        write_png(tmp_path / "images" / photo, image)
        write_png(tmp_path / "masks" / its_mask, mask)
    if os.name != "nt":  # a link back up the tree is read once, not round and round
        (tmp_path / "images" / "shoot1" / "day2" / "up").symlink_to(tmp_path / "images")
    pairs = data.find_pairs(tmp_path / "images", tmp_path / "masks", recursive=True)
    assert [(image.relative_to(tmp_path / "images"), mask.relative_to(tmp_path / "masks")) for image, mask in pairs] \
        == [(Path("shoot1/a.jpg"), Path("a.png")), (Path("b.jpg"), Path("b.png")),
            (Path("shoot1/day2/c.jpg"), Path("shoot1/day2/c.png"))]
    (tmp_path / "test.txt").write_text("c\n")
    assert data.read_split_list(tmp_path / "test.txt", tmp_path / "images", tmp_path / "masks", recursive=True) \
        == pairs[2:]
    # A name twice across sub-folders would pair two photos with one mask: an error naming both.
    write_png(tmp_path / "images" / "shoot2" / "a.jpg", image)
    with pytest.raises(data.DatasetError, match=re.escape(
            f"two image files share the stem 'a': {Path('shoot1/a.jpg')} and {Path('shoot2/a.jpg')} (read with "
            f"--recursive, a photo and its mask are paired by their names alone, which may not repeat across "
            f"sub-folders)")):
        data.find_pairs(tmp_path / "images", tmp_path / "masks", recursive=True)


@pytest.mark.skipif(os.name == "nt", reason="the commands are a POSIX shell's (mkdir -p, ln -s)")
def test_photos_in_sub_folders_named_as_splits_get_the_commands_that_link_them_as_a_dataset_that_comes_split(
        tmp_path, rng):
    image, mask = draw_person(rng, 32, 32)
    dataset = tmp_path / "my people"  # a path a shell would split, quoted in the commands
    for split in ("train", "Val"):
        write_png(dataset / "images" / split / f"{split}_a.jpg", image)
        write_png(dataset / "masks" / split / f"{split}_a.png", mask)
    with pytest.raises(data.DatasetError) as error:
        data.find_pairs(dataset / "images", dataset / "masks")
    said, commands = str(error.value).split(f"pass {tmp_path.resolve() / 'my people_split'}: ")
    assert said.endswith(f"Its sub-folders are splits, as are those of {dataset / 'masks'}: a dataset that comes "
                         f"split is read as train/images/ and train/masks/ (val/ and test/ alike); link yours so, "
                         f"without moving a file, and ")
    # Read with --recursive, the splits would be merged, and split anew: the same error, not that.
    with pytest.raises(data.DatasetError, match=re.escape(f"image folder {dataset / 'images'}: its sub-folders are not "
                                                          f"read as one. Its sub-folders are splits")):
        data.find_pairs(dataset / "images", dataset / "masks", recursive=True)
    subprocess.run(commands, shell=True, check=True)
    folders = data.split_folders(tmp_path / "my people_split")
    assert {name: [image.name for image, _ in data.find_pairs(folder / "images", folder / "masks")]
            for name, folder in folders.items()} == {"train": ["train_a.jpg"], "val": ["Val_a.jpg"]}
    # Not a dataset split so: a sub-folder of another name among them, no train/ among them, masks not split alike.
    for images, masks in ((("train", "shoot1"), ("train", "shoot1")), (("val", "test"), ("val", "test")),
                          (("train", "val"), ("train",))):
        other = tmp_path / "-".join(images + masks)
        for name in images:
            write_png(other / "images" / name / "a.jpg", image)
        for name in masks:
            write_png(other / "masks" / name / "a.png", mask)
        with pytest.raises(data.DatasetError) as error:
            data.find_pairs(other / "images", other / "masks")
        assert "its sub-folders are not read" in str(error.value) and "splits" not in str(error.value)


def test_a_web_address_given_as_a_path_says_so_and_how_to_get_the_files():
    reading = "is a web address, and only files on this machine are read and written: download it first"
    for address in ("https://example.com/photo.jpg?size=large", "s3://bucket/people", "GS://bucket/people"):
        with pytest.raises(data.DatasetError, match=re.escape(f"{address} {reading} (curl -LO, gsutil cp, aws s3 cp)")):
            data.local_path(address)
    with pytest.raises(data.DatasetError, match=re.escape("s3://bucket/run is a web address, and only files on this "
                                                          "machine are read and written: write to a folder here, "
                                                          "then copy it there (gsutil cp -r, aws s3 sync)")):
        data.local_path("s3://bucket/run", written=True)
    with pytest.raises(data.DatasetError, match=re.escape("file:///home/me/My%20Photos is an address, not a path: give "
                                                          "its path, /home/me/My Photos")):
        data.local_path("file:///home/me/My%20Photos")
    for path in ("photos/a.jpg", "/data/people", r"C:\Users\me\photos", "-", "@picked.txt", "shoot/**/*.jpg", "."):
        assert data.local_path(path) == Path(path)


def test_an_empty_path_is_an_error_not_the_working_folder():
    # Path("") is Path("."): "$PHOTOS" with the variable unset would have cut out whatever the working folder holds.
    with pytest.raises(data.DatasetError, match=re.escape("'' is an empty path, which names no file or folder (a shell "
                                                          "variable left unset?)")):
        data.local_path("")


def why_not_paired(dataset):
    """The DatasetError that data.find_pairs raises for `dataset`'s images/ and masks/, as text."""
    with pytest.raises(data.DatasetError) as error:
        data.find_pairs(dataset / "images", dataset / "masks")
    return str(error.value)


def test_missing_dataset_folder_is_a_clear_error_that_says_what_is_there_instead(tmp_path):
    with pytest.raises(data.DatasetError, match=r"image folder .*nowhere.images does not exist \(nor does .*nowhere\)$"):
        data.find_pairs(tmp_path / "nowhere" / "images", tmp_path / "nowhere" / "masks")
    for name in ("Images", "labels", ".git"):
        (tmp_path / "data" / name).mkdir(parents=True)
    assert why_not_paired(tmp_path / "data") == (
        f"image folder {tmp_path / 'data' / 'images'} does not exist "
        f"({tmp_path / 'data'} holds Images/, labels/: rename Images/ to images/, as the names "
        f"are read case and all)")
    (tmp_path / "empty").mkdir()
    with pytest.raises(data.DatasetError, match=re.escape(f"does not exist ({tmp_path / 'empty'} holds no folders)")):
        data.find_pairs(tmp_path / "empty" / "images", tmp_path / "empty" / "masks")
    # Masks among the photos in images/, and no masks/.
    for name in ("a.jpg", "a_mask.png", "b.jpg", "b_mask.png", "c.jpg"):
        (tmp_path / "among" / "images" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "among" / "images" / name).write_bytes(b"")
    with pytest.raises(data.DatasetError) as error:
        data.find_pairs(tmp_path / "among" / "images", tmp_path / "among" / "masks")
    images = tmp_path / "among" / "images"
    assert str(error.value) == (f"mask folder {tmp_path / 'among' / 'masks'} does not exist, and 2 "
                                f"({images / 'a_mask.png'}, {images / 'b_mask.png'}) of the images in {images} are "
                                f"named as another image there plus a suffix: if those are the masks, they go in "
                                f"{tmp_path / 'among' / 'masks'}")
    # Photos and masks side by side in the dataset folder, or its images/ given as the dataset.
    for name in ("b.jpg", "b_mask.png", "a.jpg", "a_mask.png", ".DS_Store", "notes.txt"):
        (tmp_path / "flat" / name).parent.mkdir(exist_ok=True)
        (tmp_path / "flat" / name).write_bytes(b"")
    assert why_not_paired(tmp_path / "flat") == (
        f"image folder {tmp_path / 'flat' / 'images'} does not exist ({tmp_path / 'flat'} holds "
        f"no folders, but 4 images of its own (a.jpg, a_mask.png, b.jpg, ...): a dataset "
        f"folder holds images/, the photos, and masks/, a mask named as each photo)")
    # A folder DVC tracks, in a clone not pulled: its .dvc file stands where it should be.
    (tmp_path / "tracked").mkdir()
    (tmp_path / "tracked" / "images.dvc").write_text("outs:\n- md5: 0c1a3e5b7d9f.dir\n  path: images\n")
    assert why_not_paired(tmp_path / "tracked") == (
        f"image folder {tmp_path / 'tracked' / 'images'} does not exist (DVC tracks "
        f"{tmp_path / 'tracked' / 'images'}, and it was not pulled: "
        f"{tmp_path / 'tracked' / 'images.dvc'} stands in its place; `dvc pull` fetches it)")
    (tmp_path / "People.dvc").write_text("outs:\n- md5: 5e2b4d6f8a0c.dir\n  path: People\n")  # the whole dataset
    with pytest.raises(data.DatasetError, match=re.escape(f"(DVC tracks {tmp_path / 'People'}, and it was not "
                                                          f"pulled: {tmp_path / 'People.dvc'} stands in its place")):
        data.find_pairs(tmp_path / "People" / "images", tmp_path / "People" / "masks")


def test_a_dataset_given_as_the_working_folder_or_the_root_is_said_missing_not_a_crash(tmp_path, monkeypatch):
    # `train.py --data-dir .` in the wrong folder: neither "." nor "/" has a name for a .dvc file beside it.
    (tmp_path / "here").mkdir()
    monkeypatch.chdir(tmp_path / "here")
    assert why_not_paired(Path(".")) == "image folder images does not exist (. holds no folders)"
    assert why_not_paired(Path("..")).startswith("image folder ../images does not exist (.. holds here/")
    assert why_not_paired(Path("/")).startswith("image folder /images does not exist (/ holds ")


def test_a_missing_images_or_masks_folder_says_how_to_name_the_datasets_own(tmp_path):
    for name in ("images", "labels"):
        (tmp_path / "data" / name).mkdir(parents=True)
    (tmp_path / "data" / "images" / "a.jpg").write_bytes(b"")
    assert why_not_paired(tmp_path / "data") == (
        f"mask folder {tmp_path / 'data' / 'masks'} does not exist ({tmp_path / 'data'} "
        f"holds images/, labels/: if labels/ holds the masks, rename it masks/, or link it: "
        f"ln -s labels {tmp_path / 'data' / 'masks'})")
    (tmp_path / "data" / "masks").symlink_to("labels")  # as the hint says: the link is followed
    for name in ("images/a.jpg", "labels/a.png"):  # quoted where a shell would split a path
        (tmp_path / "my data" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "my data" / name).write_bytes(b"")
    assert why_not_paired(tmp_path / "my data").endswith(f"ln -s labels '{tmp_path / 'my data' / 'masks'}')")
    with pytest.raises(data.DatasetError, match=r"mask folder .*data.masks has no masks"):
        data.find_pairs(tmp_path / "data" / "images", tmp_path / "data" / "masks")
    for name in ("JPEGImages", "SegmentationClass", "train"):  # several, and a split's folder
        (tmp_path / "voc" / name).mkdir(parents=True)
    assert why_not_paired(tmp_path / "voc") == (
        f"image folder {tmp_path / 'voc' / 'images'} does not exist ({tmp_path / 'voc'} holds "
        f"JPEGImages/, SegmentationClass/, train/: a dataset folder holds images/, the photos, "
        f"and masks/, a mask named as each photo: rename yours to those names)")


def test_two_photos_of_one_name_but_for_the_extension_are_an_error_naming_both(tmp_path, rng):
    # Which is the photo cannot be told; said before training, the fix costs seconds, and the split
    # stays the one the fixed folder gets.
    image, mask = draw_person(rng, 32, 32)
    write_png(tmp_path / "images" / "a.jpg", image)
    write_png(tmp_path / "images" / "a.png", image)
    write_png(tmp_path / "masks" / "a.png", mask * 255)
    with pytest.raises(data.DatasetError, match=r"^two image files share the stem 'a': a\.jpg and a\.png$"):
        data.find_pairs(tmp_path / "images", tmp_path / "masks")


def test_empty_mask_folder_is_a_clear_error(tmp_path, rng):
    write_png(tmp_path / "images" / "a.jpg", draw_person(rng, 32, 32)[0])
    (tmp_path / "masks").mkdir()
    with pytest.raises(data.DatasetError, match=r"mask folder .*masks has no masks \(files \.jpg \.jpeg \.jfif \.jpe \.png"):
        data.find_pairs(tmp_path / "images", tmp_path / "masks")


def test_bad_pairs_are_listed_and_skipped_before_training(sample_dir, caplog):
    pairs = data.find_pairs(sample_dir / "images", sample_dir / "masks")
    corrupt_image = pairs[3][0]
    corrupt_image.write_bytes(corrupt_image.read_bytes()[:100])
    wrong_size_mask = pairs[7][1]
    write_png(wrong_size_mask, np.zeros((10, 10), np.uint8))
    with caplog.at_level(logging.WARNING):
        good, bad = data.check_pairs(pairs)
    assert len(good) == len(pairs) - 2
    reasons = dict((image.stem, reason) for (image, _), reason in bad)
    assert set(reasons) == {pairs[3][0].stem, pairs[7][0].stem}
    assert reasons[pairs[3][0].stem] == (f"{corrupt_image}: a JPEG cut short after 100 bytes (a download or copy "
                                         f"that did not finish?)")
    assert "is 64x96 but its mask" in reasons[pairs[7][0].stem] and "is 10x10" in reasons[pairs[7][0].stem]
    assert str(corrupt_image) in caplog.text


def test_a_photo_that_is_a_link_to_nothing_is_paired_and_skipped_saying_where_it_leads(sample_dir, tmp_path):
    linked = sample_dir / "images" / "sample_005.jpg"
    target = tmp_path / "drive_not_mounted" / "sample_005.jpg"
    linked.unlink()
    try:
        linked.symlink_to(target)
    except OSError:
        pytest.skip("this file system takes no links")
    pairs = data.find_pairs(sample_dir / "images", sample_dir / "masks")
    assert len(pairs) == 20  # not passed over, which would leave its mask without a partner, said as no more
    good, bad = data.check_pairs(pairs)
    assert len(good) == 19 and bad == [((linked, sample_dir / "masks" / "sample_005.png"),
                                        f"{linked}: a link to {target}, which is not there")]
    # A file git-annex has not fetched is such a link, into the repository's store: said so.
    annexed = sample_dir / "images" / "sample_006.jpg"
    store = ".git/annex/objects/Wx/3v/SHA256E-s5020--5b1a.jpg/SHA256E-s5020--5b1a.jpg"
    annexed.unlink()
    annexed.symlink_to(tmp_path / store)
    good, bad = data.check_pairs(pairs)
    assert bad[1] == ((annexed, sample_dir / "masks" / "sample_006.png"), f"{annexed}: a link to {tmp_path / store}, "
                      f"which is not there (a git-annex file not fetched: `git annex get` fetches it)")


def test_a_mask_of_the_photos_shape_at_another_resolution_is_scaled_to_the_photo(tmp_path, rng):
    image, _ = draw_person(rng, 96, 64)
    write_png(tmp_path / "images" / "a.png", image)
    mask = cv2.ellipse(np.zeros((96, 64), np.uint8), (32, 50), (18, 40), 0, 0, 360, 255, -1)  # a person, roughly
    for size, name in (((48, 32), "half"), ((193, 128), "a pixel taller at double"), ((32, 32), "square")):
        write_png(tmp_path / "masks" / "a.png", cv2.resize(mask, size[::-1], interpolation=cv2.INTER_AREA))
        if name == "square":  # another shape: not this photo's mask, whatever its size
            with pytest.raises(data.DatasetError, match=r"a\.png is 64x96 but its mask .* is 32x32, not the photo's shape"):
                data.read_pair((tmp_path / "images" / "a.png", tmp_path / "masks" / "a.png"))
            continue
        _, scaled = data.read_pair((tmp_path / "images" / "a.png", tmp_path / "masks" / "a.png"))
        assert scaled.shape == (96, 64) and set(np.unique(scaled)) <= {0, 1}, name
        assert scores.iou(mask // 255, scaled) > 0.95, name  # what a half-size mask of this small photo keeps


@pytest.mark.parametrize("orientation", [6, 8, 5, 7])  # a quarter turn, either way; with a mirror (transposed)
def test_a_mask_drawn_on_a_photo_as_stored_is_turned_with_its_exif_orientation(tmp_path, orientation):
    from PIL import Image

    stored = np.zeros((40, 60, 3), np.uint8)
    stored[5:25, 10:20] = 255  # the person, off every axis of symmetry
    drawn_on_stored = np.where(stored[..., 0] > 0, 255, 0).astype(np.uint8)
    exif = Image.Exif()
    exif[0x0112] = orientation
    image_path = tmp_path / "images" / "phone.jpg"
    image_path.parent.mkdir()
    Image.fromarray(stored).save(image_path, exif=exif.tobytes(), quality=95)
    mask_path = write_png(tmp_path / "masks" / "phone.png", drawn_on_stored)
    image, mask = data.read_pair((image_path, mask_path))
    assert image.shape == (60, 40, 3) and mask.shape == (60, 40)  # as viewers show the photo
    np.testing.assert_array_equal(mask, image[..., 0] > 128)
    # A mask drawn on the photo as shown is taken as it is.
    write_png(mask_path, mask * 255)
    np.testing.assert_array_equal(data.read_pair((image_path, mask_path))[1], mask)
    # The training pipeline reads pairs the same way.
    _, model_mask = data.load_pair(str(image_path), str(mask_path), (32, 32))
    np.testing.assert_array_equal(model_mask[..., 0], data.preprocess_mask(mask, (32, 32))[..., 0])


def test_all_pairs_bad_is_an_error(tmp_path):
    for folder in ("images", "masks"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "a.png").write_bytes(b"garbage")
    pairs = data.find_pairs(tmp_path / "images", tmp_path / "masks")
    with pytest.raises(data.DatasetError, match="^the one pair is not usable:\n  .*a\\.png: "):
        data.check_pairs(pairs)
    for name in ("b.png", "c.png"):
        for folder in ("images", "masks"):
            (tmp_path / folder / name).write_bytes(b"garbage")
    named_by_path = r"^none of the 3 pairs is usable:\n  .*a\.png: .*\n  .*b\.png: .*\n  .*c\.png: "
    with pytest.raises(data.DatasetError, match=named_by_path):
        data.check_pairs(data.find_pairs(tmp_path / "images", tmp_path / "masks")[::-1])  # given in another order


def test_an_error_where_no_file_could_be_used_names_the_first_five_reasons_a_line_each_and_counts_the_rest():
    two = ["a.jpg: empty file", "b.jpg: empty file"]
    assert data.first_reasons(two) == "\n  a.jpg: empty file\n  b.jpg: empty file"
    five = [f"{name}.jpg: why" for name in "abcde"]
    assert data.first_reasons(iter(five)) == "".join(f"\n  {reason}" for reason in five)  # each named, none more
    seven = (f"{name}: why" for name in "abcdefg")
    assert data.first_reasons(seven) == "\n  a: why\n  b: why\n  c: why\n  d: why\n  e: why\n  and 2 more"


def write_dataset(folder, rng, masks):
    """A photo of a person per mask array given, the masks written as PNGs."""
    for index, mask in enumerate(masks):
        image, _ = draw_person(rng, *mask.shape)
        write_png(folder / "images" / f"p{index}.jpg", image)
        write_png(folder / "masks" / f"p{index}.png", mask)
    return data.find_pairs(folder / "images", folder / "masks")


def test_label_maps_that_mark_nobody_are_an_error_naming_a_mask_and_its_values(tmp_path, rng):
    # A label map: 0 background, 1 person, 2 clothes; read as person from half of 255 up, it marks nobody.
    label_map = np.zeros((32, 24), np.uint8)
    label_map[4:28, 8:16], label_map[12:20, 8:16] = 1, 2
    pairs = write_dataset(tmp_path, rng, [label_map] * 3)
    with pytest.raises(data.DatasetError) as error:
        data.check_pairs(pairs)
    assert "3 of the 3 masks mark no person" in str(error.value)
    assert f"{tmp_path / 'masks' / 'p0.png'}: values 0, 1 and 2" in str(error.value)
    assert "turn label maps (a number per class) into such masks first" in str(error.value)


def test_masks_in_colours_not_shades_of_one_are_read_by_brightest_channel_and_warned_about(tmp_path, rng, caplog):
    # PASCAL VOC's colours, as a palette PNG: person 192,128,128 inside a border of unsure pixels, 224,224,192,
    # and a dog, 64,0,128, each bright enough in one channel to read as person by the brightest channel.
    label_map = np.zeros((32, 24), np.uint8)
    label_map[2:30, 2:14], label_map[4:28, 4:12], label_map[20:30, 16:22] = 255, 15, 12
    palette = np.zeros((256, 3), np.uint8)
    palette[[15, 12, 255]] = (192, 128, 128), (64, 0, 128), (224, 224, 192)
    # People drawn in a colour each (an instance map, as CVAT exports one), which the brightest channel suits.
    instances = np.zeros((32, 24, 3), np.uint8)
    instances[4:28, 2:10], instances[4:28, 14:22] = (0, 0, 128), (0, 128, 0)
    pairs = write_dataset(tmp_path, rng, [person_mask(), person_mask(), person_mask()])
    write_png(pairs[1][1], instances)
    voc = Image.fromarray(label_map, "P")
    voc.putpalette(palette.ravel().tolist())
    voc.save(pairs[0][1])
    with caplog.at_level(logging.WARNING):
        good, bad = data.check_pairs(pairs)
    assert good == pairs and not bad  # read as ever: the warning says what that means
    assert (f"2 of the 3 masks are in colours that are not shades of one (e.g. {pairs[0][1]}: RGB (224, 224, 192) "
            f"and (64, 0, 128); {pairs[1][1]}: RGB (128, 0, 0) and (0, 128, 0)): a pixel is read as person where its "
            f"brightest channel is at least half of full scale") in caplog.text
    assert "make such masks 255 on the person and 0 elsewhere first" in caplog.text
    np.testing.assert_array_equal(image_files.read_mask(pairs[1][1]), instances.max(axis=2) > 0)
    np.testing.assert_array_equal(image_files.read_mask(pairs[0][1]), label_map > 0)  # the dog and the border too
    # Black, the person's colour and shades of it between (a soft edge) are a mask, at 8 bits or 16.
    shades = np.zeros((32, 24, 3), np.uint16)
    shades[4:28, 4:12] = (128, 128, 192)
    shades[4:28, 3], shades[4:28, 2] = (64, 64, 96), (43, 43, 64)  # a third of 128, rounded
    assert image_files.other_colours(shades.astype(np.uint8)) is None
    assert image_files.other_colours(shades * 257) is None
    assert image_files.mask_colours(tmp_path / "gone.png") is None  # deleted since it was read: not this check's to say
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        data.check_pairs([(pairs[2][0], write_png(pairs[2][1], shades.astype(np.uint8)))])
        # ... and so is a grey mask saved as RGB (an editor's, or Pillow's "RGB" mode), its channels equal.
        data.check_pairs([(pairs[2][0], write_png(pairs[2][1], np.dstack([person_mask()] * 3)))])
    assert caplog.text == ""


def person_mask():
    mask = np.zeros((32, 24), np.uint8)
    mask[4:28, 8:16] = 255
    return mask


def test_masks_that_mostly_mark_nobody_are_warned_about_and_a_few_empty_ones_are_not(tmp_path, rng, caplog):
    person = np.zeros((32, 24), np.uint8)
    person[4:28, 8:16] = 255
    nobody = np.zeros_like(person)
    mostly_empty = write_dataset(tmp_path / "mostly", rng, [person, nobody, nobody])
    with caplog.at_level(logging.WARNING, logger="data"):
        good, bad = data.check_pairs(mostly_empty)
    assert len(good) == 3 and not bad  # photos without people are kept
    assert "2 of the 3 masks mark no person" in caplog.text
    assert f"{tmp_path / 'mostly' / 'masks' / 'p1.png'}: value 0" in caplog.text
    caplog.clear()
    few_empty = write_dataset(tmp_path / "few", rng, [person, person, nobody])
    with caplog.at_level(logging.INFO, logger="data"):
        data.check_pairs(few_empty)
    assert [record.levelname for record in caplog.records] == ["INFO"]  # said, not warned about
    assert f"masks that mark no person, photos without people: 1 ({tmp_path / 'few' / 'masks' / 'p2.png'})" in caplog.text


def test_masks_that_mark_the_background_instead_of_the_person_are_warned_about(tmp_path, rng, caplog):
    person = np.zeros((32, 24), np.uint8)
    person[4:32, 8:16] = 255  # standing on the bottom edge; the top corners are background
    inverted = write_dataset(tmp_path / "inverted", rng, [255 - person, 255 - person, person])
    with caplog.at_level(logging.WARNING, logger="data"):
        good, _ = data.check_pairs(inverted)
    assert len(good) == 3  # trained on all the same: a warning, not a refusal
    assert "2 of the 3 masks that mark a person mark both top corners of the photo as person" in caplog.text
    assert str(tmp_path / "inverted" / "masks" / "p0.png") in caplog.text and "invert them (255 - mask)" in caplog.text
    caplog.clear()
    upright = write_dataset(tmp_path / "upright", rng, [person, person, 255 - person])
    with caplog.at_level(logging.WARNING, logger="data"):
        data.check_pairs(upright)
    assert "top corners" not in caplog.text


def test_stored_values_are_listed_where_few_and_given_as_a_range_where_many(tmp_path):
    ramp = np.arange(100, dtype=np.uint8).reshape(10, 10)
    assert data.stored_values(write_png(tmp_path / "ramp.png", ramp)) == "values 0 to 99"
    assert data.stored_values(write_png(tmp_path / "two.png", ramp // 50 * 7)) == "values 0 and 7"


# --- splitting -------------------------------------------------------------

def test_a_dataset_that_comes_split_is_told_by_its_split_folders(tmp_path):
    assert data.split_folders(write_sample(tmp_path / "plain", count=1)) is None  # images/ of its own
    for folder in ("Train", "Validation", "test", "notes"):
        write_sample(tmp_path / "split" / folder, count=1)
    assert data.split_folders(tmp_path / "split") == {"train": tmp_path / "split" / "Train",
                                                      "val": tmp_path / "split" / "Validation",
                                                      "test": tmp_path / "split" / "test"}
    for folder in ("training", "testing"):
        write_sample(tmp_path / "no_val" / folder, count=1)
    (tmp_path / "no_val" / "val").mkdir()  # no images/ in it: not a split
    assert data.split_folders(tmp_path / "no_val") == {"train": tmp_path / "no_val" / "training",
                                                       "test": tmp_path / "no_val" / "testing"}
    write_sample(tmp_path / "no_train" / "val", count=1)
    assert data.split_folders(tmp_path / "no_train") is None and data.split_folders(tmp_path / "missing") is None
    for folder in ("train", "val", "valid"):
        write_sample(tmp_path / "twice" / folder, count=1)
    with pytest.raises(data.DatasetError, match=re.escape(f"{tmp_path / 'twice'} has both val/ and valid/: which "
                                                          f"holds the val split?")):
        data.split_folders(tmp_path / "twice")


def test_splits_are_disjoint_complete_and_sized_by_fraction():
    pairs = fake_pairs(100)
    splits = data.split_pairs(pairs, val_fraction=0.1, test_fraction=0.2, seed=3)
    sizes = {name: len(split) for name, split in splits.items()}
    assert sizes == {"train": 70, "val": 10, "test": 20}
    stems = [{image.stem for image, _ in split} for split in splits.values()]
    assert not (stems[0] & stems[1]) and not (stems[0] & stems[2]) and not (stems[1] & stems[2])
    assert set.union(*stems) == {image.stem for image, _ in pairs}
    for split in splits.values():
        assert all(image.stem == mask.stem for image, mask in split)


def test_splits_are_reproducible_with_the_seed_and_differ_without_it():
    pairs = fake_pairs(50)
    first = data.split_pairs(pairs, seed=7)
    assert first == data.split_pairs(list(reversed(pairs)), seed=7)
    assert first["test"] != data.split_pairs(pairs, seed=8)["test"]


def stems_by_split(splits):
    return {name: {image.stem for image, _ in split} for name, split in splits.items()}


def test_photos_of_an_earlier_split_keep_their_split_and_only_added_photos_are_split_anew(caplog):
    earlier = stems_by_split(data.split_pairs(fake_pairs(100), seed=3))
    # 20 photos added (100-119) and two removed; drawn afresh, the split would share little with the last one.
    pairs = [pair for pair in fake_pairs(120) if pair[0].stem not in ("005", "050")]
    afresh = stems_by_split(data.split_pairs(pairs, seed=3))
    assert len(afresh["test"] & earlier["train"]) >= 3  # 6 of its 12 test photos
    with caplog.at_level(logging.WARNING, logger="data"):
        kept = stems_by_split(data.split_pairs(pairs, seed=3, earlier=earlier))
    added = stems_by_split(data.split_pairs(pairs[-20:], seed=3))  # the added photos, split among themselves
    assert {name: len(stems) for name, stems in added.items()} == {"train": 16, "val": 2, "test": 2}
    for name in data.SPLIT_NAMES:
        assert kept[name] == (earlier[name] - {"005", "050"}) | added[name]
    assert "no longer a pair here, left out: 2 (005, 050)" in caplog.text


def test_an_earlier_split_that_leaves_nothing_to_train_on_is_an_error_counting_the_pairs():
    for count, says in ((1, "1 pair leaves"), (2, "2 pairs leave")):
        earlier = {"val": {"000"}, "test": {"001"}}  # every photo held out by the earlier run
        with pytest.raises(data.DatasetError, match=f"^{says} nothing to train on after the validation and test "
                                                    f"splits$"):
            data.split_pairs(fake_pairs(count), earlier=earlier)


def test_too_few_added_photos_to_hold_any_out_all_go_to_training():
    earlier = stems_by_split(data.split_pairs(fake_pairs(20), seed=0))
    splits = stems_by_split(data.split_pairs(fake_pairs(21), seed=0, earlier=earlier))
    assert splits["train"] == earlier["train"] | {"020"} and splits["test"] == earlier["test"]
    assert {name: len(stems) for name, stems in stems_by_split(data.split_pairs(fake_pairs(2))).items()} == \
        {"train": 1, "val": 0, "test": 1}


def test_split_lists_are_read_back_as_a_run_wrote_them_and_a_bad_folder_is_named(tmp_path):
    splits = data.split_pairs(fake_pairs(30), seed=0)
    data.write_split_lists(splits, tmp_path / "splits")
    assert {name: set(stems) for name, stems in data.read_split_lists(tmp_path / "splits").items()} == \
        stems_by_split(splits)
    (tmp_path / "splits" / "test.txt").unlink()
    with pytest.raises(data.DatasetError, match=r"splits has no test.txt: expected the splits/ folder of a run"):
        data.read_split_lists(tmp_path / "splits")
    with pytest.raises(data.DatasetError, match=r"nowhere does not exist: expected the splits/ folder of a run "
                                                r"\(train.txt, val.txt and test.txt\), or the run's folder$"):
        data.read_split_lists(tmp_path / "nowhere")
    with pytest.raises(data.DatasetError, match=r"train.txt is a file: expected the splits/ folder of a run"):
        data.read_split_lists(tmp_path / "splits" / "train.txt")  # a list named instead of its folder
    (tmp_path / "splits" / "test.txt").write_text("000\n")  # also in train.txt or val.txt
    with pytest.raises(data.DatasetError, match=r"'000' is listed in both (train|val).txt and test.txt"):
        data.read_split_lists(tmp_path / "splits")


def test_split_lists_round_trip_through_files(sample_dir, tmp_path):
    pairs = data.find_pairs(sample_dir / "images", sample_dir / "masks")
    splits = data.split_pairs(pairs, 0.2, 0.2, seed=0)
    data.write_split_lists(splits, tmp_path / "splits")
    for name in data.SPLIT_NAMES:
        reread = data.read_split_list(tmp_path / "splits" / f"{name}.txt", sample_dir / "images", sample_dir / "masks")
        assert reread == sorted(splits[name])


def test_a_split_list_may_name_the_photos_files_and_start_with_a_byte_order_mark(sample_dir, tmp_path):
    folders = sample_dir / "images", sample_dir / "masks"
    pairs = data.find_pairs(*folders)
    # As `ls images > list.txt` and Windows' Notepad (UTF-8 with a BOM, CRLF line ends) write them.
    (tmp_path / "list.txt").write_bytes(("\r\n".join([pairs[0][0].name, f"images/{pairs[1][0].name}", pairs[2][0].stem])
                                         + "\r\n").encode("utf-8-sig"))
    assert data.read_split_list(tmp_path / "list.txt", *folders) == pairs[:3]
    # A stem that itself ends in an extension ("x.png" of x.png.jpg) is taken as the stem it is.
    image = pairs[0][0].with_name("x.png.jpg")
    pairs[0][0].rename(image)
    pairs[0][1].rename(pairs[0][1].with_name("x.png.png"))
    (tmp_path / "odd.txt").write_text("x.png\n")
    assert [photo for photo, _ in data.read_split_list(tmp_path / "odd.txt", *folders)] == [image]


def test_split_lists_are_utf8_and_keep_names_that_are_not_utf8_byte_for_byte(tmp_path):
    splits = {"train": [(Path(f"images/{stem}.jpg"), Path(f"masks/{stem}.png")) for stem in ("café", NOT_UTF8)],
              "val": [(Path("images/a.jpg"), Path("masks/a.png"))], "test": []}
    data.write_split_lists(splits, tmp_path / "splits")
    assert (tmp_path / "splits" / "train.txt").read_bytes() == b"caf\xc3\xa9\ncaf\xe9\n"  # UTF-8 on every system
    assert data.read_split_lists(tmp_path / "splits") == {"train": ["café", NOT_UTF8], "val": ["a"], "test": []}


def test_a_split_list_that_is_missing_unreadable_or_empty_is_named(sample_dir, tmp_path):
    folders = sample_dir / "images", sample_dir / "masks"
    with pytest.raises(data.DatasetError, match=r"missing.txt: cannot read the list of stems \(No such file or directory\)"):
        data.read_split_list(tmp_path / "missing.txt", *folders)
    (tmp_path / "photo.txt").write_bytes(cv2.imencode(".jpg", np.zeros((8, 8, 3), np.uint8))[1].tobytes())
    (tmp_path / "notepad.txt").write_text("sample_000\n", encoding="utf-16")  # Notepad's "Unicode"
    for name in ("photo.txt", "notepad.txt"):
        with pytest.raises(data.DatasetError, match=name + r": cannot read the list of stems \(not a UTF-8 text file\)"):
            data.read_split_list(tmp_path / name, *folders)
    (tmp_path / "empty.txt").write_text("\n\n")
    with pytest.raises(data.DatasetError, match=r"empty.txt lists no stems"):
        data.read_split_list(tmp_path / "empty.txt", *folders)
    # A run's splits/ folder given for one of its lists: they are named.
    data.write_split_lists({"train": [], "val": [], "test": []}, tmp_path / "splits")
    with pytest.raises(data.DatasetError, match=re.escape(
            f"{tmp_path / 'splits'} is a folder, not a list of stems (a text file, one a line); the lists in it: "
            f"{tmp_path / 'splits' / 'test.txt'}, {tmp_path / 'splits' / 'train.txt'}, "
            f"{tmp_path / 'splits' / 'val.txt'}")):
        data.read_split_list(tmp_path / "splits", *folders)
    # One of another dataset (or whose photo was deleted since) is named, not passed over.
    (tmp_path / "other.txt").write_text(f"{data.find_pairs(*folders)[0][0].stem}\nccp_0197\n")
    with pytest.raises(data.DatasetError, match=r"other.txt lists stems with no image/mask pair: 1 \(ccp_0197\)$"):
        data.read_split_list(tmp_path / "other.txt", *folders)


# --- pipeline --------------------------------------------------------------

def test_the_pipeline_reads_photos_whose_names_are_not_utf8(sample_dir):
    rename_pair(sample_dir, "sample_000", NOT_UTF8)
    pairs = data.find_pairs(sample_dir / "images", sample_dir / "masks")[:4]
    assert pairs[0][0].stem == NOT_UTF8
    for cache in (False, True):
        images, _ = next(iter(data.make_dataset(pairs, (32, 32), 4, cache=cache)))
        np.testing.assert_array_equal(images[0], data.preprocess_image(data.read_image(pairs[0][0]), (32, 32)))


def test_pipeline_yields_batches_of_the_right_shape_dtype_and_range(sample_dir):
    pairs = data.find_pairs(sample_dir / "images", sample_dir / "masks")
    dataset = data.make_dataset(pairs, (64, 32), batch_size=8, training=True, augment=True)
    batches = list(dataset)
    assert [len(images) for images, _ in batches] == [8, 8, 4]
    for images, masks in batches:
        assert images.shape[1:] == (64, 32, 3) and masks.shape[1:] == (64, 32, 1)
        assert images.dtype.name == "uint8" and masks.dtype.name == "uint8"  # cast by the model
        assert set(np.unique(masks.numpy())) <= {0, 1}
    assert float(batches[0][0].numpy().max()) > 100  # pixels stay in [0, 255], not normalised


def test_training_pipeline_augments_every_epoch_afresh(sample_dir):
    pairs = data.find_pairs(sample_dir / "images", sample_dir / "masks")[:8]
    originals = {data.preprocess_image(data.read_image(image), (64, 32)).tobytes() for image, _ in pairs}

    def epoch_images(dataset):
        return np.concatenate([images.numpy() for images, _ in dataset]).astype(np.uint8)

    plain = data.make_dataset(pairs, (64, 32), batch_size=3, training=True, augment=False)
    assert {image.tobytes() for image in epoch_images(plain)} == originals  # shuffled, not changed
    augmented = data.make_dataset(pairs, (64, 32), batch_size=3, training=True, augment=True, seed=0)
    first, second = epoch_images(augmented), epoch_images(augmented)
    assert len(first) == len(second) == 8
    # Each photo comes through unchanged with probability ~0.04 (no flip, affine, colour or blur).
    assert sum(image.tobytes() not in originals for image in first) >= 5
    # Afresh: augmented once, every one of those would come again. A few may: a photo drawn the same discrete
    # change in both epochs and nothing else (a flip alone, ~0.04 an epoch) comes out the same (an assertion
    # that none does failed a full test run now and then).
    repeated = {image.tobytes() for image in first} & ({image.tobytes() for image in second} - originals)
    assert len(repeated) <= 2


def test_training_pipeline_pastes_people_from_the_same_batch_when_asked(sample_dir):
    pairs = data.find_pairs(sample_dir / "images", sample_dir / "masks")

    def person_share(paste_p):
        dataset = data.make_dataset(pairs, (64, 32), batch_size=4, training=True, seed=0, paste_p=paste_p)
        return np.mean([masks.numpy().mean() for _ in range(3) for _, masks in dataset])

    # The same seed draws the same geometry for a share of the photos; a
    # second person, 30-90% of the frame tall, adds markedly to the masks.
    without, with_people = person_share(0.0), person_share(1.0)
    assert with_people > without + 0.05, (without, with_people)


def test_a_pipeline_without_a_cache_yields_the_same_batches_without_decoding_every_photo_first(sample_dir, monkeypatch):
    pairs = data.find_pairs(sample_dir / "images", sample_dir / "masks")
    for training in (True, False):
        cached, uncached = (list(data.make_dataset(pairs, (48, 32), batch_size=8, training=training, augment=False,
                                                   seed=3, cache=cache).take(4)) for cache in (True, False))
        for (image, mask), (same_image, same_mask) in zip(cached, uncached, strict=True):
            np.testing.assert_array_equal(image.numpy(), same_image.numpy())
            np.testing.assert_array_equal(mask.numpy(), same_mask.numpy())
    # A shuffle buffer of decoded photos would hold all of them before the first batch. Without one, the
    # prefetching and parallel decoding still run a few batches ahead, while the count is read too: 20 pairs
    # were all decoded by then in one full test run, so the 20 come twenty times over here.
    many_pairs = pairs * 20
    decoded = []
    load_pair = data.load_pair
    monkeypatch.setattr(data, "load_pair", lambda *pair: decoded.append(pair) or load_pair(*pair))

    def decoded_for_first_batch(cache):
        decoded.clear()
        next(iter(data.make_dataset(many_pairs, (48, 32), batch_size=4, training=True, augment=False, cache=cache)))
        return len(decoded)

    assert decoded_for_first_batch(cache=True) == len(many_pairs)
    assert 4 <= decoded_for_first_batch(cache=False) <= len(many_pairs) // 2


def test_evaluation_pipeline_matches_the_shared_preprocessing(sample_dir):
    pairs = data.find_pairs(sample_dir / "images", sample_dir / "masks")[:3]
    images, masks = next(iter(data.make_dataset(pairs, (48, 32), batch_size=3)))
    for (image_path, mask_path), image, mask in zip(pairs, images.numpy(), masks.numpy()):
        np.testing.assert_array_equal(image, data.preprocess_image(data.read_image(image_path), (48, 32)))
        np.testing.assert_array_equal(mask, data.preprocess_mask(image_files.read_mask(mask_path), (48, 32)))


# Letterboxing: wide photos keep the proportions the model learned from portraits.

def test_portrait_photos_are_only_resized_and_wide_ones_letterboxed_between_grey_bars():
    portrait = np.full((80, 60, 3), 200, np.uint8)  # 3:4, the widest shown as it is
    np.testing.assert_array_equal(data.preprocess_image(portrait, (32, 32)), np.full((32, 32, 3), 200, np.uint8))
    assert data.letterbox_band((80, 60), (32, 32)) == (0, 32)
    # 16:9 -> as tall as 16:9 of a 3:4 frame: 288 * (9/16) * (3/4) = 121.5 rows.
    assert data.letterbox_band((900, 1600), (288, 288)) == (83, 122)
    wide = np.full((90, 160, 3), 200, np.uint8)
    model_input = data.preprocess_image(wide, (288, 288))
    assert model_input.shape == (288, 288, 3)
    assert (model_input[:83] == data.LETTERBOX_GREY).all() and (model_input[83 + 122:] == data.LETTERBOX_GREY).all()
    assert (model_input[83:83 + 122] == 200).all()


def test_a_wide_photos_mask_is_letterboxed_like_it_and_upsampled_back_without_the_bars():
    mask = np.zeros((90, 160), np.uint8)
    mask[20:80, 50:90] = 1
    target = data.preprocess_mask(mask, (288, 288))
    assert target.shape == (288, 288, 1)
    assert not target[:83].any() and not target[83 + 122:].any()  # the bars are background
    x, y, width, height = data.person_box(target)
    assert (x, y, width, height) == (90, 110, 72, 81)  # 20/90 of the band down, 50/160 of the width across
    back = data.upsample_mask(target.astype(np.float32), (90, 160))
    assert back.shape == (90, 160)
    np.testing.assert_array_equal(back >= 0.5, mask.astype(bool))


def test_the_photos_a_model_was_trained_on_are_those_its_run_lists_in_the_data_folder_it_names(tmp_path):
    shared = (REPO_DIR.parent / "shared/data/people_segmentation/images").resolve()  # models/'s config names it
    photos = [shared / "ccp_0001.jpg", shared / "ccp_0013.jpg", tmp_path / "images" / "ccp_0001.jpg"]
    for shipped in ("person_mobilenetv2_unet.keras", "person_mobilenetv2_unet.int8.tflite"):
        # ccp_0001 in models/splits/train.txt, ccp_0013 in test.txt; a photo of that name elsewhere is another
        assert data.photos_trained_on(photos, REPO_DIR / "models" / shipped) == (
            [shared / "ccp_0001.jpg"], REPO_DIR / "models" / "splits" / "train.txt")

    run_dir = tmp_path / "run"
    (run_dir / "splits").mkdir(parents=True)
    (run_dir / "splits" / "train.txt").write_text("ccp_0001\n")
    assert data.photos_trained_on(photos, run_dir / "model.keras") == ([], None)  # no config.json: not known
    (run_dir / "config.json").write_text('{"data_dir": "%s"}' % tmp_path)
    assert data.photos_trained_on(photos, run_dir) == ([photos[2]], run_dir / "splits" / "train.txt")
    for split in ("train", "test"):  # it comes split: its photos of that name in train/ only
        (tmp_path / split / "images").mkdir(parents=True)
    split_photos = [tmp_path / split / "images" / "ccp_0001.jpg" for split in ("train", "test")]
    assert data.photos_trained_on(split_photos, run_dir / "model.keras")[0] == split_photos[:1]
