"""segment.py: the person mask of a whole photo from the model's looks at it
(close-ups, tiles, turned looks, specks), with stand-in models whose masks
are known. That predict.py's photos and folders get these masks is tested in
test_predict.py."""

import re

import cv2
import numpy as np
import pytest

import data
import scores
import segment
from conftest import MarksRed, SureOfUprightRed, lying_person


def test_close_up_box_is_a_3_by_4_crop_around_the_person_with_a_margin():
    soft = np.zeros((64, 64, 1), np.float32)
    # A 400x300 photo is letterboxed into rows 14..49; the person fills band rows 10..19, columns 30..33.
    soft[14 + 10:14 + 20, 30:34] = 1
    # In the photo: x 187.5..212.5, y 83.3..166.7; a margin of 10% of 83.3 on each side; then
    # widened to 3:4 (75 of the 100 rows) about its centre.
    assert segment.close_up_boxes(soft, (300, 400)) == [(75, 175, 162, 238)]
    # A person filling most of the photo, or none at all: no second pass.
    assert segment.close_up_boxes(np.ones((64, 64, 1), np.float32), (300, 400)) == []
    assert segment.close_up_boxes(np.zeros((64, 64, 1), np.float32), (300, 400)) == []
    # At the photo's edge the crop slides inside instead of leaving it.
    edge = np.zeros((64, 64, 1), np.float32)
    edge[14 + 10:14 + 20, 0:2] = 1
    [(top, bottom, left, right)] = segment.close_up_boxes(edge, (300, 400))
    assert left == 0 and right == 75 and (top, bottom) == (75, 175)


class MarksOneSpeck:
    """A stand-in model at the shipped one's 288x288 that marks one pixel, (100, 100), of every input."""
    input = type("Input", (), {"shape": (None, 288, 288, 3)})()

    def predict_on_batch(self, batch):
        masks = np.zeros((len(batch), 288, 288, 1), np.float32)
        masks[:, 100, 100] = 0.9
        return masks


def test_a_speck_in_a_thumbnail_gets_no_close_up_rather_than_a_crop_of_no_pixels():
    # A pixel of a 288x288 mask is a fifth of one of a 64x48 photo's: its crop rounded to rows 22..22, which
    # OpenCV could not resize, and predict.py stopped with its traceback, the folder's other photos with it.
    speck = np.zeros((288, 288), np.float32)
    speck[100, 100] = 0.9
    assert segment.close_up_boxes(speck, (64, 48)) == []
    [mask] = segment.predict_photo_masks(MarksOneSpeck(), [np.zeros((64, 48, 3), np.uint8)])
    assert mask.shape == (64, 48)
    # The same speck in a photo ten times the size: a crop of a few pixels, looked at closer.
    assert segment.close_up_boxes(speck, (640, 480)) == [(222, 225, 166, 169)]


def test_a_batch_that_fails_is_run_again_a_photo_at_a_time_and_the_failing_photo_alone_gets_the_error():
    batches = []

    def halve(numbers):  # fails on the odd number, as a model on the photo it cannot take
        batches.append(list(numbers))
        if any(number % 2 for number in numbers):
            raise ValueError("odd")
        return [number // 2 for number in numbers]

    assert segment.each_photo_alone_where_it_fails(halve, [2, 4]) == [(1, None), (2, None)]
    assert batches == [[2, 4]]  # once, as a batch, where nothing fails
    batches.clear()
    [first, odd, last] = segment.each_photo_alone_where_it_fails(halve, [2, 3, 6])
    assert (first, last) == ((1, None), (3, None))
    assert odd[0] is None and isinstance(odd[1], ValueError) and str(odd[1]) == "odd"
    assert batches == [[2, 3, 6], [2], [3], [6]]


def band_mask(*columns, rows=(3, 15)):
    """A 64x64 model mask of an 800x300 photo (letterboxed into rows 23..40)
    with a person in band `rows` at each pair of `columns`."""
    soft = np.zeros((64, 64, 1), np.float32)
    for start, stop in columns:
        soft[23 + rows[0]:23 + rows[1], start:stop] = 1
    return soft


def test_people_standing_apart_get_a_crop_each_and_people_together_one():
    assert data.letterbox_band((300, 800), (64, 64)) == (23, 18)
    # Each person x 50..75 / 725..750, y 50..250 in the photo; a margin of 20; widened to 3:4 (180 x 240).
    # One crop around both would be the whole photo, too big for a second pass.
    assert segment.close_up_boxes(band_mask((4, 6), (58, 60)), (300, 800)) == [(30, 270, 0, 180), (30, 270, 620, 800)]
    # Close enough for their crops to overlap: one crop around both (x 250..350 with margins, widened).
    assert segment.close_up_boxes(band_mask((20, 22), (26, 28)), (300, 800)) == [(30, 270, 210, 390)]
    # A speck between two people apart is no person of its own and changes neither crop.
    with_speck = band_mask((4, 6), (58, 60))
    with_speck[23 + 8, 32] = 1
    assert segment.close_up_boxes(with_speck, (300, 800)) == [(30, 270, 0, 180), (30, 270, 620, 800)]


def test_a_wide_photo_is_covered_by_the_fewest_evenly_spread_3_by_4_tiles_of_its_full_height():
    assert segment.tile_boxes((90, 160)) == [(0, 90, 0, 68), (0, 90, 46, 114), (0, 90, 92, 160)]  # 16:9
    assert segment.tile_boxes((300, 400)) == [(0, 300, 0, 225), (0, 300, 175, 400)]  # 4:3
    # Square and portrait photos: a tile would see their people hardly closer than the first look.
    assert segment.tile_boxes((300, 300)) == [] and segment.tile_boxes((400, 300)) == []
    # A panorama of 9:1 takes 12 tiles; a strip wider than that, none.
    assert len(segment.tile_boxes((100, 900))) == 12 and segment.tile_boxes((100, 901)) == []
    assert segment.tile_boxes((3, 2000)) == []


def test_a_tall_photo_is_covered_by_the_fewest_evenly_spread_3_by_4_tiles_of_its_full_width():
    assert segment.tile_boxes((180, 90)) == [(0, 120, 0, 90), (60, 180, 0, 90)]  # 1:2, tiles 120 tall
    assert segment.tile_boxes((400, 100)) == [(0, 133, 0, 100), (89, 222, 0, 100), (178, 311, 0, 100),
                                              (267, 400, 0, 100)]  # 1:4, a photo-booth strip
    # 9:16 (a phone's screen): a tile would see its people hardly closer than the first look.
    assert segment.tile_boxes((160, 90)) == []
    # A strip of 1:16 takes 12 tiles; one taller than that, none.
    assert len(segment.tile_boxes((1596, 100))) == 12 and segment.tile_boxes((1597, 100)) == []


def test_a_panoramas_many_tiles_go_through_the_model_a_bounded_number_at_a_time(monkeypatch):
    monkeypatch.setattr(segment, "MAX_IMAGES_PER_CALL", 4)
    photo = np.zeros((40, 360, 3), np.uint8)  # 9:1, 12 tiles 30 pixels wide
    for left in range(10, 360, 40):
        photo[5:40, left:left + 12] = (255, 0, 0)  # nine people standing in a row
    model = MarksRed()
    mask = segment.predict_photo_masks(model, [photo], upright_only=True)[0]
    assert len(segment.tile_boxes(photo.shape[:2])) == 12
    calls = [batch.shape[0] for batch in model.batches]
    # The first look; the nine people's close-ups (they stand apart), then the 12 tiles, four at a time.
    assert calls == [1, 4, 4, 1, 4, 4, 4]
    np.testing.assert_array_equal(mask >= 0.5, photo[..., 0] > 0)


def test_overlapping_crops_are_averaged_into_the_photo_mask():
    nobody = np.zeros((8, 8), np.float32)
    crops = [((0, 4, 0, 6), np.full((8, 8), 0.2, np.float32)), ((0, 4, 3, 8), np.full((8, 8), 0.6, np.float32))]
    mask = segment.photo_mask(nobody, (4, 8), crops)
    np.testing.assert_allclose(mask, np.repeat([[0.2, 0.2, 0.2, 0.4, 0.4, 0.4, 0.6, 0.6]], 4, axis=0), atol=1e-6)
    # Where no crop reaches, the first look's mask stays.
    first_look = np.full((8, 8), 0.9, np.float32)
    mask = segment.photo_mask(first_look, (4, 8), [((1, 3, 2, 4), np.full((8, 8), 0.2, np.float32))])
    expected = np.full((4, 8), 0.9, np.float32)
    expected[1:3, 2:4] = 0.2
    np.testing.assert_allclose(mask, expected, atol=1e-6)


class SureOf:
    """A stand-in model at 64x64: person wherever the input's red channel is
    above half, with probability 0.99 where `sure(rows, columns)` holds of
    the red pixels' coordinates in its input, else `unsure`."""
    input = MarksRed.input

    def __init__(self, sure, unsure=0.7):
        self.sure, self.unsure, self.batches = sure, unsure, []

    def predict_on_batch(self, batch):
        self.batches.append(batch)
        masks = np.zeros(batch.shape[:3], np.float32)
        for mask, person in zip(masks, batch[..., 0] > 128):
            if person.any():
                mask[person] = 0.99 if self.sure(*np.nonzero(person)) else self.unsure
        return masks[..., None]


def group_photo():
    """A 180x320 (16:9) photo of three people standing side by side, 150 pixels tall, and their mask."""
    photo = np.zeros((180, 320, 3), np.uint8)
    photo[..., 2] = np.linspace(0, 100, 180)[:, None]  # a background that varies: no bars at the sides
    for left in (60, 140, 220):
        photo[30:180, left:left + 40] = (255, 0, 0)
    return photo, (photo[..., 0] > 0).astype(np.uint8)


def test_people_across_a_wide_photo_are_taken_from_its_tiles_where_those_are_surer():
    photo, truth = group_photo()
    # Sure of people at least 40 of its 64 rows tall: the first look sees them 22 rows tall (letterboxed),
    # each 3:4 tile 53 rows tall. The crop around all three is the whole photo: no close-up.
    model = SureOf(lambda rows, columns: np.ptp(rows) >= 40)
    mask = segment.predict_photo_masks(model, [photo])[0]
    # The first look, then three tiles in one call; the first look being unsure (0.7), the photo turned
    # (three looks in one call, without tiles, none surer).
    assert [batch.shape[0] for batch in model.batches] == [1, 3, 3]
    assert mask.max() == pytest.approx(0.99)
    first_look = segment.predict_photo_masks(SureOf(model.sure), [photo], close_up=False)[0]
    assert first_look.max() == pytest.approx(0.7)
    assert scores.iou(truth, mask >= 0.5) > scores.iou(truth, first_look >= 0.5)


def test_tiles_less_sure_than_the_first_look_leave_it():
    photo = np.zeros((180, 320, 3), np.uint8)
    photo[..., 2] = np.linspace(0, 100, 180)[:, None]  # a background that varies: no bars at the sides
    photo[20:180, 60:260] = (255, 0, 0)  # a face too close for a tile to see whole
    # Sure of people it sees whole, clear of its input's left and right edges; every tile cuts this one.
    model = SureOf(lambda rows, columns: columns.min() > 0 and columns.max() < 63)
    mask = segment.predict_photo_masks(model, [photo])[0]
    assert [batch.shape[0] for batch in model.batches] == [1, 3] and mask.max() == pytest.approx(0.99)
    np.testing.assert_array_equal(mask, segment.predict_photo_masks(SureOf(model.sure), [photo], close_up=False)[0])


class SeesTallPeople:
    """A stand-in model at 64x64 that, like the real one, misses people seen
    too small: person on each red patch of its input at least 9 rows tall,
    with probability 0.99 where the patch is clear of the input's left and
    right edges, else `cut` (a person a tile's edge cuts); with `unsure_below`,
    0.7 for patches shorter than that many rows, and 0.99 for patches lying
    across at least 9 columns (as people in a photo turned on its side)."""
    input = MarksRed.input

    def __init__(self, cut=0.9, unsure_below=0):
        self.cut, self.unsure_below, self.batches = cut, unsure_below, []

    def predict_on_batch(self, batch):
        self.batches.append(batch)
        masks = np.zeros(batch.shape[:3], np.float32)
        for mask, red in zip(masks, batch[..., 0] > 128):
            count, patches, boxes, _ = cv2.connectedComponentsWithStats(red.view(np.uint8))
            for patch in range(1, count):
                left, _, width, height, _ = boxes[patch]
                if height < 9:
                    mask[patches == patch] = 0.99 if self.unsure_below and width >= 9 else 0
                elif height < self.unsure_below:
                    mask[patches == patch] = 0.7
                else:
                    mask[patches == patch] = 0.99 if left > 0 and left + width < 64 else self.cut
        return masks[..., None]


def row_of_people(tall=None):
    """A 120x600 (5:1) panorama of five people 100 pixels tall, 20 wide, in a
    row, the one at index `tall` 120 tall; and their mask. Letterboxed, the
    photo gets 10 of a 64x64 input's rows: the tall person 10 rows, the others 8."""
    photo = np.zeros((120, 600, 3), np.uint8)
    for index, left in enumerate(range(20, 600, 120)):
        photo[0 if index == tall else 20:120, left:left + 20] = (255, 0, 0)
    return photo, photo[..., 0] > 0


def test_people_across_a_panorama_whom_the_first_look_misses_are_taken_from_its_tiles():
    photo, truth = row_of_people()
    model = SeesTallPeople()
    mask = segment.predict_photo_masks(model, [photo])[0]
    # The first look finds nobody (each person 8 rows tall); the seven tiles, each showing a person or two
    # 53 rows tall, find them all, sure enough (0.96: some are cut by a tile's edge, 0.9).
    assert [batch.shape[0] for batch in model.batches] == [1, 7]
    assert scores.iou(truth, mask >= 0.5) > 0.9
    # Tiles less sure of what they find, where the first look found nobody, leave the mask empty, as they
    # leave the background they take for people in a wide photo with nobody in it.
    unsure = segment.predict_photo_masks(SeesTallPeople(cut=0.7), [photo])[0]
    assert not (unsure >= 0.5).any()


def test_people_one_above_another_whom_the_first_look_misses_are_taken_from_tiles_down_the_photo():
    photo = np.zeros((400, 100, 3), np.uint8)  # 1:4, a photo-booth strip of four people 40 tall, 40 wide,
    for top in (30, 135, 224, 320):            # each clear of the tiles' overlaps (rows 0-133, 89-222, ...)
        photo[top:top + 40, 30:70] = (255, 0, 0)
    photo[..., 2] = np.arange(100)  # a background that varies: no bars above and below the strip
    truth = photo[..., 0] > 0
    model = SeesTallPeople()
    mask = segment.predict_photo_masks(model, [photo], upright_only=True)[0]
    # The first look, squeezing the strip into 64 rows, sees each person 6 rows tall and finds nobody;
    # the four tiles, 133 rows each, see them 19 rows tall and find them all.
    assert [batch.shape[0] for batch in model.batches] == [1, 4]
    assert scores.iou(truth, mask >= 0.5) > 0.9


def test_tiles_that_find_the_people_the_first_look_missed_win_though_less_sure_than_it():
    photo, truth = row_of_people(tall=2)
    first_look = segment.predict_photo_masks(SeesTallPeople(), [photo], close_up=False)[0]
    assert (first_look[:, 260:280] >= 0.5).any()  # the tall person alone
    assert not (first_look[:, :250] >= 0.5).any() and not (first_look[:, 300:] >= 0.5).any()
    mask = segment.predict_photo_masks(SeesTallPeople(), [photo])[0]
    assert scores.iou(truth, mask >= 0.5) > 0.9
    # The tiles' mask (0.961 sure) is less sure than the first look and its close-up (0.974), and marks
    # four times as much.
    size = photo.shape[:2]
    soft = segment.predict_masks(SeesTallPeople(), [photo])[0]
    close_up = segment.judge(segment.judging_mask(soft, size, segment.close_ups(SeesTallPeople(), [photo], [soft])[0]))
    tiles = segment.crop_looks(SeesTallPeople(), [photo], [segment.tile_boxes(size)])[0]
    tiled = segment.judge(segment.judging_mask(soft, size, tiles))
    assert tiled.sureness < close_up.sureness and tiled.person_pixels > 4 * close_up.person_pixels


def test_a_photo_whose_tiles_found_the_people_the_first_look_missed_gets_no_turned_look():
    photo, _ = row_of_people()
    # The first look: a sliver of one person, unsure (0.7); the tiles, chosen: everyone, sure (0.99).
    first_look = np.zeros((64, 64), np.float32)
    first_look[27:37, 4:6] = 0.7
    tiles = []
    for top, bottom, left, right in segment.tile_boxes(photo.shape[:2]):
        tile = data.preprocess_image(photo[top:bottom, left:right], (64, 64))
        tiles.append(((top, bottom, left, right), (tile[..., 0] > 128) * 0.99))
    model = MarksRed()  # sure of the people turned on their side too: a turned look would win over the sliver
    assert segment.lying_down_looks(model, [photo], [first_look], [[]], [tiles]) == [None]
    assert model.batches == []  # the upright mask is judged by the tiles, sure of more people: no turned look
    # Tiles chosen for being surer of the same person (see the test of a person lying down above) leave
    # the turned look to be judged against the first look.
    sliver_tiles = [(box, np.where(first_look > 0, 0.99, 0).astype(np.float32)) for box, _ in tiles[:1]]
    segment.lying_down_looks(model, [photo], [first_look], [[]], [sliver_tiles])
    assert model.batches[0].shape[0] == 3  # the three turned photos


def test_the_turned_look_at_a_tall_photo_is_judged_against_its_chosen_tiles():
    def looks(photo):  # the first look unsure of the people (0.7), the tiles, chosen, sure of them (0.99)
        first_look = (data.preprocess_image(photo, (64, 64))[..., 0] > 128) * np.float32(0.7)
        tiles = [((top, bottom, left, right), (data.preprocess_image(photo[top:bottom, left:right], (64, 64))[..., 0]
                                               > 128) * np.float32(0.99))
                 for top, bottom, left, right in segment.tile_boxes(photo.shape[:2])]
        return [first_look], [[]], [tiles]

    strip = np.zeros((400, 100, 3), np.uint8)  # a photo-booth strip: four people one above another
    for top in (30, 135, 224, 320):
        strip[top:top + 40, 30:70] = (255, 0, 0)
    model = MarksRed()  # sure of the people turned, too: judged against the first look, a turned look would win
    assert segment.lying_down_looks(model, [strip], *looks(strip)) == [None]
    assert model.batches == []  # judged by its tiles, which mark no more than the first look but are sure
    # Tiles across a wide photo, as sure, leave the turned look to be judged against the first look
    # (a person lying across a landscape photo looks to each tile like part of someone upright).
    row = np.ascontiguousarray(np.rot90(strip))
    segment.lying_down_looks(model, [row], *looks(row))
    assert model.batches[0].shape[0] == 3  # the three turned photos


def test_tiles_win_where_surer_or_where_they_mark_over_twice_the_person_pixels_and_are_sure():
    def wins(first, tiled):
        return segment.tiles_win(segment.judge(first), segment.judge(tiled))

    assert wins(block_mask(0.9), block_mask(0.91))                   # surer of the same person
    assert not wins(block_mask(0.97), block_mask(0.96))              # less sure, marking as much
    assert wins(block_mask(0.97, rows=(10, 14)), block_mask(0.96))   # less sure, five times as much, sure
    assert not wins(block_mask(0.97, rows=(10, 20)), block_mask(0.96))  # twice as much: not more than twice
    assert not wins(block_mask(0.97, rows=(10, 14)), block_mask(0.94))  # five times as much, not sure
    nobody = np.zeros((40, 40), np.float32)
    assert wins(nobody, block_mask(0.95)) and not wins(nobody, block_mask(0.94))
    assert not wins(nobody, nobody)


def test_a_mask_is_judged_by_the_mean_probability_over_the_pixels_it_marks_and_their_number():
    mask = np.array([[0.2, 0.5, 0.9], [1.0, 0.0, 0.49]], np.float32)
    judgement = segment.judge(mask)
    assert judgement.sureness == pytest.approx((0.5 + 0.9 + 1.0) / 3) and judgement.person_pixels == 3
    assert segment.judge(np.full((4, 4), 0.3, np.float32)) == (0.0, 0)
    turned = segment.judge(np.rot90(mask))  # a turned look is judged without turning it back
    assert turned.sureness == pytest.approx(judgement.sureness) and turned.person_pixels == 3


def test_a_person_lying_across_a_landscape_photo_is_taken_from_a_look_turned_on_its_side():
    photo, truth = lying_person()
    model = SureOfUprightRed()
    mask = segment.predict_photo_masks(model, [photo])[0]
    # The upright pass and its two tiles (no surer: the person lies across them too), then the photo
    # turned clockwise, anticlockwise and half a turn in one call, the quarter turns each a 3:4 portrait
    # that fills the square input, with the person standing; turned looks get no tiles.
    assert [batch.shape for batch in model.batches] == [(1, 64, 64, 3), (2, 64, 64, 3), (3, 64, 64, 3)]
    for turned, turn in zip(model.batches[2], (-1, 1, 2)):
        np.testing.assert_array_equal(turned, data.preprocess_image(np.rot90(photo, turn), (64, 64)))
    assert mask.shape == (300, 400) and mask.max() == pytest.approx(0.99)
    assert scores.iou(truth, mask >= 0.5) > 0.9
    upright = segment.predict_photo_masks(SureOfUprightRed(), [photo], upright_only=True)[0]
    assert upright.max() == pytest.approx(0.6)


class SureOfLyingInTiles(SureOfUprightRed):
    """SureOfUprightRed, but fairly sure (`tiled`) of the person lying across
    lying_person's photo where a tile shows them closer: at least 11 of its
    64 rows thick (the whole photo, letterboxed, shows them 10 rows thick)."""

    def __init__(self, upright=0.99, tiled=0.97):
        super().__init__(upright)
        self.tiled = tiled

    def predict_on_batch(self, batch):
        masks = super().predict_on_batch(batch)
        for mask in masks[..., 0]:
            rows, columns = np.nonzero(mask == self.lying)
            if rows.size and np.ptp(rows) >= 10:
                mask[mask == self.lying] = self.tiled
        return masks


def test_tiles_surer_of_a_person_lying_down_than_the_first_look_do_not_stop_the_turned_look():
    photo, truth = lying_person()
    tiled = segment.predict_photo_masks(SureOfLyingInTiles(), [photo], upright_only=True)[0]
    assert tiled.max() == pytest.approx(0.97)  # the tiles won over the first look (0.6)
    # The turned look is judged against the first look: clearly surer than 0.6, it wins.
    model = SureOfLyingInTiles()
    mask = segment.predict_photo_masks(model, [photo])[0]
    assert [batch.shape[0] for batch in model.batches] == [1, 2, 3]
    assert mask.max() == pytest.approx(0.99) and scores.iou(truth, mask >= 0.5) > 0.9
    # A turned look that loses (not sure) leaves the tiles' mask, not the first look's.
    unsure_turned = segment.predict_photo_masks(SureOfLyingInTiles(upright=0.9), [photo])[0]
    np.testing.assert_array_equal(unsure_turned, tiled)


def test_only_unsure_masks_get_a_turned_look_whatever_the_photos_shape():
    photo, _ = lying_person()
    sure = SureOfUprightRed(lying=1.0)  # sure of the person as it lies
    segment.predict_photo_masks(sure, [photo])
    assert len(sure.batches) == 2  # the upright look and its tiles
    model = SureOfUprightRed()
    segment.predict_photo_masks(model, [np.zeros_like(photo)])  # nobody marked: nothing to be unsure of
    assert len(model.batches) == 2  # the first look and its tiles
    # A person lying across a portrait photo: turned, the photo is a landscape one, the person upright.
    portrait = np.zeros((400, 300, 3), np.uint8)
    portrait[..., 2] = np.linspace(0, 100, 300)  # a background that varies: not a red photo between black bars
    portrait[170:230, 20:280] = (255, 0, 0)
    model = SureOfUprightRed()
    mask = segment.predict_photo_masks(model, [portrait])[0]
    # The upright pass, the three turned photos, then the close-ups of the person standing in two of them
    # (now landscape photos; turned looks get no tiles).
    assert [batch.shape[0] for batch in model.batches] == [1, 3, 2]
    assert mask.shape == (400, 300) and mask.max() == pytest.approx(0.99)
    assert scores.iou(portrait[..., 0] > 0, mask >= 0.5) > 0.9


class SureOfHeadUp:
    """A stand-in model at 64x64 that knows people head up only: person wherever
    the input's red or green channel is above half, with probability 0.99 where
    the green (the head) lies above the red (the body), else 0.7."""
    input = SureOfUprightRed.input

    def predict_on_batch(self, batch):
        masks = np.zeros(batch.shape[:3], np.float32)
        for mask, pixels in zip(masks, batch):
            body, head = pixels[..., 0] > 128, pixels[..., 1] > 128
            if body.any() and head.any():
                mask[body | head] = 0.99 if np.nonzero(head)[0].mean() < np.nonzero(body)[0].mean() else 0.7
        return masks[..., None]


def test_a_person_upside_down_is_taken_from_the_look_turned_half_a_turn():
    photo = np.zeros((400, 300, 3), np.uint8)  # a portrait photo of someone standing on their hands
    photo[40:300, 110:190] = (255, 0, 0)
    photo[300:360, 120:180] = (0, 255, 0)
    person = photo.max(axis=2) > 0
    upright = segment.predict_photo_masks(SureOfHeadUp(), [photo], upright_only=True)[0]
    assert upright.max() == pytest.approx(0.7)
    mask = segment.predict_photo_masks(SureOfHeadUp(), [photo])[0]
    assert mask.max() == pytest.approx(0.99) and scores.iou(person, mask >= 0.5) > 0.9
    head_up = np.ascontiguousarray(photo[::-1, ::-1])  # the same person standing: no turned look needed
    assert segment.predict_photo_masks(SureOfHeadUp(), [head_up])[0].max() == pytest.approx(0.99)


def block_mask(value, rows=(10, 30)):
    mask = np.zeros((40, 40), np.float32)
    mask[rows[0]:rows[1], 10:30] = value
    return mask


def test_a_turned_look_wins_only_if_sure_clearly_surer_and_marking_at_least_half_as_much():
    def wins(upright, turned):
        return segment.turned_look_wins(segment.judge(upright), segment.judge(turned))

    unsure = block_mask(0.9)
    assert wins(unsure, block_mask(0.97))                  # sure, 0.07 surer
    assert not wins(unsure, block_mask(0.95))              # 0.05 surer, but not sure
    assert not wins(block_mask(0.93), block_mask(0.96))    # sure, but only 0.03 surer
    assert wins(unsure, block_mask(0.97, rows=(10, 20)))   # half as much
    assert not wins(unsure, block_mask(0.97, rows=(10, 19)))


def test_a_turned_look_that_loses_leaves_the_upright_mask():
    photo, _ = lying_person()
    not_sure = SureOfUprightRed(upright=0.9, lying=0.6)
    mask = segment.predict_photo_masks(not_sure, [photo])[0]
    assert len(not_sure.batches) == 3 and mask.max() == pytest.approx(0.6)  # upright, its tiles, turned

    class SureOfLess(SureOfUprightRed):
        def predict_on_batch(self, batch):
            masks = super().predict_on_batch(batch)
            if len(self.batches) > 2:  # the turned looks (after the upright one and its tiles) keep a third of the rows
                masks[:, 22:] = 0
            return masks

    assert segment.predict_photo_masks(SureOfLess(), [photo])[0].max() == pytest.approx(0.6)


def test_large_photos_are_judged_on_a_smaller_mask_with_the_same_outcome():
    soft = np.zeros((64, 64, 1), np.float32)
    soft[20:40, 10:50] = 0.8
    crop = np.ones((64, 64, 1), np.float32)
    close_up = [((1000, 2000, 1500, 2250), crop)]
    small_close_up = [((500, 1000, 600, 975), crop)]
    np.testing.assert_array_equal(segment.judging_mask(soft, (1200, 1600), small_close_up),
                                  segment.photo_mask(soft, (1200, 1600), small_close_up))  # small enough: as it is
    judged = segment.judging_mask(soft, (3000, 4000), close_up)
    assert judged.shape == (1200, 1600)
    assert (judged[400:800, 600:900] == 1).all() and judged[399, 600] != 1  # the close-up's box, scaled by 0.4
    full_size = segment.photo_mask(soft, (3000, 4000), close_up)
    assert segment.judge(judged).sureness == pytest.approx(segment.judge(full_size).sureness, abs=0.002)
    photo = cv2.resize(lying_person()[0], (4000, 3000), interpolation=cv2.INTER_NEAREST)
    mask = segment.predict_photo_masks(SureOfUprightRed(), [photo])[0]
    assert mask.shape == (3000, 4000) and mask.max() == pytest.approx(0.99)  # the turned look, at full size
    assert scores.iou(photo[..., 0] > 0, mask >= 0.5) > 0.9


def test_a_speck_apart_from_the_people_is_left_out_but_not_a_part_joined_by_faint_pixels_or_at_the_edge():
    mask = np.zeros((100, 100), np.float32)
    mask[10:90, 20:50] = 0.9               # the person: 2,400 pixels
    mask[10:16, 80:87] = 0.8               # a speck apart: 42 pixels, 1.7% of the person's
    mask[60:75, 70:90] = 0.7               # a second person: 300 pixels, 12.5%
    mask[50:54, 60:64] = 0.95              # a hand the model barely joins to the person ...
    mask[51, 50:60] = 0.15                 # ... through pixels of 0.15
    mask[0, :] = 0.05                      # faint pixels below SPECK_JOIN belong to no patch
    mask[94:100, 93:100] = 0.8             # a patch as small at the photo's edge: a person cut by the frame
    mask[20:35, 60:75] = 0.3               # a faint ghost: no pixel the model takes for person
    assert 42 < segment.SPECK_SHARE * (2400 + 16) < 2 * 42
    cleaned = segment.without_specks(mask)
    assert (cleaned[10:16, 80:87] == 0).all() and (cleaned[20:35, 60:75] == 0).all()
    assert (cleaned[94:100, 93:100] == 0.8).all()
    mask[20:35, 60:75] = 0
    np.testing.assert_array_equal(np.delete(cleaned, np.s_[80:90], axis=1), np.delete(mask, np.s_[80:90], axis=1))
    assert (cleaned[0, 80:90] == 0.05).all()
    # One patch, or none: the mask as it is.
    single = np.zeros((50, 50), np.float32)
    single[10:40, 10:20] = 0.9
    assert segment.without_specks(single) is single
    assert segment.without_specks(np.zeros((50, 50), np.float32)).max() == 0


def test_main_person_keeps_the_person_the_mask_holds_most_of_with_the_parts_joined_to_them():
    mask = np.zeros((100, 100), np.float32)
    mask[10:90, 20:50] = 0.9               # the main person: 2,400 pixels
    mask[50:54, 60:64] = 0.95              # a hand the model barely joins to them ...
    mask[51, 50:60] = 0.15                 # ... through pixels of 0.15
    mask[60:75, 70:90] = 0.7               # a bystander apart: 300 pixels
    mask[75, 70:90] = 0.05                 # the bystander's faint rim (a pixel: SPECK_RIM here), below
    mask[90, 20:50] = 0.05                 # SPECK_JOIN, as the main person's
    mask[0:30, 92:100] = 0.8               # someone cut by the photo's edge
    mask[20:35, 60:75] = 0.3               # a faint ghost
    kept = segment.main_person_only(mask)
    expected = mask.copy()
    for others in (np.s_[60:76, 70:90], np.s_[0:30, 92:100], np.s_[20:35, 60:75]):
        expected[others] = 0
    np.testing.assert_array_equal(kept, expected)
    # Two people side by side, joined by their faint outlines, are one patch: both stay.
    together = mask[:, :50].copy()
    together[10:90, 5:15] = 0.9
    together[40, 15:20] = 0.2
    np.testing.assert_array_equal(segment.main_person_only(together), together)
    # Nobody marked (a ghost only), or one patch: the mask as it is.
    ghost = np.zeros((50, 50), np.float32)
    ghost[10:20, 10:20] = 0.3
    ghost[30:40, 30:40] = 0.2
    assert segment.main_person_only(ghost) is ghost
    # The larger of two people apart is the main one, wherever each stands.
    two = np.zeros((100, 100), np.float32)
    two[10:60, 60:80] = 0.9                # 1,000 pixels
    two[40:90, 10:35] = 0.6                # 1,250 pixels, less sure of but larger
    assert (segment.main_person_only(two)[10:60, 60:80] == 0).all()
    assert (segment.main_person_only(two)[40:90, 10:35] == 0.6).all()


def test_an_array_that_is_no_rgb_photo_is_a_value_error_naming_it_not_the_models_shape_error():
    rgb = np.zeros((60, 40, 3), np.uint8)
    assert [mask.shape for mask in segment.predict_photo_masks(MarksRed(), [rgb, rgb[:30]])] == [(60, 40), (30, 40)]
    for index, image, held in ((1, rgb[..., 0], "uint8 of shape (60, 40)"),
                               (1, np.dstack([rgb, rgb[..., :1]]), "uint8 of shape (60, 40, 4)"),
                               (1, rgb.astype(np.float32) / 255, "float32 of shape (60, 40, 3)"),  # would be black
                               (1, rgb[:0], "uint8 of shape (0, 40, 3)")):
        with pytest.raises(ValueError, match=re.escape(f"photo {index} must be RGB pixels, uint8 (height, width, 3), "
                                                       f"not {held} (predict.remove_background takes grey")):
            segment.predict_photo_masks(MarksRed(), [rgb, image])


def inside_border(image):
    """(top, bottom, left, right): the part of a photo inside its bars or frame, as segment.photo_parts finds it."""
    return segment.photo_parts(image)[1]


def photo_between_bars(above, below, colour=(0, 0, 0), size=(300, 200)):
    """A photo of dark noise (no flat rows, nothing MarksRed marks) with bars of `colour`, `above` and
    `below` rows tall."""
    photo = np.random.default_rng(0).integers(20, 120, (*size, 3), dtype=np.uint8)
    photo[:above], photo[size[0] - below:] = colour, colour
    return photo


def test_the_rows_between_flat_bars_of_one_colour_as_tall_above_as_below_are_the_photo():
    assert inside_border(photo_between_bars(40, 40)) == (40, 260, 0, 200)
    assert inside_border(photo_between_bars(40, 56, colour=(255, 255, 255))) == (40, 244, 0, 200)  # 16 apart
    # Compressed as a JPEG, the bars keep all but the rows its ringing reaches (within a block of 16).
    _, encoded = cv2.imencode(".jpg", photo_between_bars(40, 40), [cv2.IMWRITE_JPEG_QUALITY, 90])
    top, bottom, left, right = inside_border(cv2.imdecode(encoded, cv2.IMREAD_COLOR))
    assert 24 <= top <= 40 and 260 <= bottom <= 276 and (left, right) == (0, 200)
    # Not bars: one side only, the two sides far from as tall or of other colours, thinner than 2%, or
    # one colour all over.
    for photo in (photo_between_bars(40, 0), photo_between_bars(40, 57), photo_between_bars(5, 5),
                  photo_between_bars(150, 150)):
        assert inside_border(photo) == (0, 300, 0, 200)
    other_colours = photo_between_bars(40, 40)
    other_colours[260:] = 10
    assert inside_border(other_colours) == (0, 300, 0, 200)
    # Bars at the sides, as wide as each other, are bars where they end straight (see
    # test_a_flat_background_around_a_person_is_no_frame for a studio's background, which does not).
    sideways = np.ascontiguousarray(photo_between_bars(40, 40).transpose(1, 0, 2))
    assert inside_border(sideways) == (0, 200, 40, 260)


def test_flat_rows_are_those_within_three_levels_of_the_first_rows_median_colour_in_every_channel():
    image = np.full((6, 2, 3), 100, np.uint8)
    image[0, 1] = 101                    # the median: 100.5 in each channel
    image[1], image[2] = 98, 103         # 2.5 away: flat
    image[3] = [[98, 103, 100], [103, 98, 101]]
    image[4] = 104                       # 3.5 away: not
    rows, colour = segment.flat_rows(image)
    assert rows == 4 and colour.tolist() == [100.5] * 3
    image[4] = 97
    assert segment.flat_rows(image)[0] == 4
    image[2, 1, 2] = 97                  # one channel of one pixel off
    assert segment.flat_rows(image)[0] == 2
    assert segment.flat_rows(np.full((40, 3, 3), 7, np.uint8))[0] == 40  # flat throughout, in blocks of 8, 16, ...


def photo_in_frame(above, below, left, right, colour=(245, 245, 240), size=(300, 200)):
    """photo_between_bars' dark noise in a frame of `colour`, as many rows or columns wide on each side as given."""
    photo = np.random.default_rng(0).integers(20, 120, (*size, 3), dtype=np.uint8)
    return cv2.copyMakeBorder(photo, above, below, left, right, cv2.BORDER_CONSTANT, value=colour)


def test_the_part_inside_a_frame_of_one_colour_that_ends_in_straight_edges_is_the_photo():
    # A print's border, wider below (a Polaroid): 300x200 inside, 348x224 in all.
    assert inside_border(photo_in_frame(12, 36, 12, 12)) == (12, 312, 12, 212)
    assert inside_border(photo_in_frame(3, 3, 2, 2, colour=(0, 0, 0))) == (3, 303, 2, 202)  # thin, black
    # Compressed as a JPEG, the frame keeps all but the rows and columns its ringing reaches.
    _, encoded = cv2.imencode(".jpg", photo_in_frame(24, 48, 24, 24), [cv2.IMWRITE_JPEG_QUALITY, 90])
    top, bottom, left, right = inside_border(cv2.imdecode(encoded, cv2.IMREAD_COLOR))
    assert 8 <= top <= 24 and 324 <= bottom <= 340 and 8 <= left <= 24 and 224 <= right <= 240
    # Not frames: three sides only (nor are the two at the sides bars, with a flat band above them), a side
    # of another colour, bands thinner than 0.5% of the longer side.
    for photo in (photo_in_frame(12, 0, 12, 12), photo_in_frame(12, 36, 12, 12)[:, 12:], photo_in_frame(1, 1, 1, 1)):
        assert inside_border(photo) == (0, *photo.shape[:1], 0, *photo.shape[1:2])
    other_colours = photo_in_frame(12, 36, 12, 12)
    other_colours[12:312, -12:] = 10  # the right side's band, between the bands above and below
    assert inside_border(other_colours) == (0, 348, 0, 224)


def test_a_flat_background_around_a_person_is_no_frame():
    # A person on a studio's black apart from every side, reaching its bottom, and its sides too: the bands
    # of background do not end in straight edges but along the person's outline.
    for body_centre, body_size in (((100, 190), (60, 60)), ((100, 300), (70, 150)), ((100, 300), (110, 150))):
        studio = np.zeros((300, 200, 3), np.uint8)
        cv2.ellipse(studio, (100, 65), (35, 45), 0, 0, 360, (90, 70, 60), -1)  # a head, 20 rows below the top
        cv2.ellipse(studio, body_centre, body_size, 0, 0, 360, (40, 40, 40), -1)
        assert inside_border(studio) == (0, 300, 0, 200)


def test_flat_columns_at_the_sides_of_a_studio_portrait_are_no_bars():
    # Black clothes reaching the bottom and both sides of a portrait on black: as wide at either side, but the
    # background ends along the person's outline, not in a photo's straight edge.
    studio = np.zeros((300, 200, 3), np.uint8)
    cv2.ellipse(studio, (100, 60), (40, 60), 0, 0, 360, (90, 70, 60), -1)     # a head from the top
    cv2.ellipse(studio, (100, 300), (70, 180), 0, 0, 360, (40, 40, 40), -1)  # shoulders to the bottom
    across = studio.transpose(1, 0, 2)
    assert segment.between_bars(200, segment.flat_rows(across), segment.flat_rows(across[::-1])) == (30, 171)
    assert inside_border(studio) == (0, 300, 0, 200)


def test_the_model_is_shown_the_photo_inside_bars_or_a_frame_but_all_of_a_person_centred_on_a_flat_background():
    beside_bars = np.ascontiguousarray(photo_between_bars(40, 40).transpose(1, 0, 2))  # a portrait on a wider screen
    for photo, inside in ((photo_between_bars(40, 40), (40, 260, 0, 200)), (beside_bars, (0, 200, 40, 260)),
                          (photo_in_frame(12, 36, 12, 12), (12, 312, 12, 212))):
        assert segment.photo_parts(photo) == (inside, inside)
        model = MarksRed()
        segment.predict_photo_masks(model, [photo], upright_only=True)
        shown = data.preprocess_image(segment.within(photo, inside), (64, 64))
        np.testing.assert_array_equal(model.batches[0][0], shown)
    # A person on a studio's black, as many flat rows above the head as below the feet: bars by their rows,
    # but they end along the person's outline, not in a photo's straight edge; the model sees the whole photo.
    studio = np.zeros((300, 200, 3), np.uint8)
    cv2.ellipse(studio, (100, 65), (35, 45), 0, 0, 360, (90, 70, 60), -1)    # a head, 20 rows below the top
    cv2.ellipse(studio, (100, 200), (60, 80), 0, 0, 360, (40, 40, 40), -1)  # a body, 20 rows above the bottom
    looked_at, inside = segment.photo_parts(studio)
    assert looked_at == (0, 300, 0, 200) and inside == (20, 281, 0, 200)
    model = MarksRed()
    segment.predict_photo_masks(model, [studio], upright_only=True)
    np.testing.assert_array_equal(model.batches[0][0], data.preprocess_image(studio, (64, 64)))


def test_what_the_model_marks_in_the_bars_above_and_below_a_photo_is_background():
    photo = photo_between_bars(40, 40, colour=(255, 0, 0))  # red bars, which MarksRed takes for a person,
    photo[100:260, 90:110] = (255, 0, 0)                      # and a person standing on the photo's bottom edge
    for upright_only in (True, False):
        mask = segment.predict_photo_masks(MarksRed(), [photo], upright_only=upright_only)[0]
        assert not (mask[:40] >= 0.5).any() and not (mask[260:] >= 0.5).any()
        assert (mask[110:255, 92:108] >= 0.5).all() and not (mask[50:250, :80] >= 0.5).any()


def test_what_the_model_marks_in_a_frame_around_a_photo_is_background():
    photo = photo_in_frame(12, 36, 12, 12, colour=(255, 0, 0))  # a red frame, which MarksRed takes for a person,
    photo[112:312, 102:122] = (200, 0, 0)                         # and a person standing on the photo's bottom edge
    for upright_only in (True, False):
        mask = segment.predict_photo_masks(MarksRed(), [photo], upright_only=upright_only)[0]
        assert not (mask[:12] >= 0.5).any() and not (mask[312:] >= 0.5).any()
        assert not (mask[:, :12] >= 0.5).any() and not (mask[:, 212:] >= 0.5).any()
        assert (mask[120:308, 104:120] >= 0.5).all() and not (mask[30:300, 20:90] >= 0.5).any()
