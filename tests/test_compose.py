"""compose.py: the output pixels made from a photo and its alpha (cutout,
composite, crop, canvas), on arrays whose answer is known. That
predict.py's photos and folders get them is tested in test_predict.py."""

import numpy as np

import compose
from conftest import boxed, photo


def test_the_people_in_a_16_bit_alpha_are_where_it_is_at_least_half_opaque():
    alpha = np.full((40, 30), 200, np.uint16)  # 200 of 65535: next to transparent
    alpha[10:20, 5:15] = 32768
    assert compose.people_box(alpha, margin=0) == (10, 20, 5, 15)


def test_an_8_bit_background_is_brought_to_16_bits_under_a_16_bit_photo():
    image = np.full((2, 2, 3), 40000, np.uint16)
    alpha = np.array([[0, 65535], [32768, 0]], np.uint16)
    backdrop = np.array([[[10, 20, 30], [0, 0, 0]], [[255, 255, 255], [1, 2, 3]]], np.uint8)
    out = compose.compose(image, alpha, backdrop)
    assert out.dtype == np.uint16
    np.testing.assert_array_equal(out[0, 0], [2570, 5140, 7710])  # 257 times the background's
    np.testing.assert_array_equal(out[0, 1], image[0, 1])
    np.testing.assert_array_equal(out[1, 0], np.round(40000 * 32768 / 65535 + 65535 * 32767 / 65535))
    np.testing.assert_array_equal(compose.compose(image, alpha, (255, 0, 0))[1, 1], [65535, 0, 0])


def test_the_soft_alpha_is_the_mask_times_255_rounded_half_to_even():
    mask = np.float32([[0.0, 0.5 / 255, 1.5 / 255, 2.5 / 255], [0.2, 0.5, 254.5 / 255, 1.0]])
    alpha = compose.alpha_from_mask(mask)
    assert alpha.dtype == np.uint8
    np.testing.assert_array_equal(alpha, [[0, 0, 2, 2], [51, 128, 254, 255]])
    soft = np.random.default_rng(0).random((40, 30), np.float32)
    np.testing.assert_array_equal(compose.alpha_from_mask(soft), np.round(soft * 255).astype(np.uint8))
    np.testing.assert_array_equal(compose.alpha_from_mask(mask, threshold=0.5), [[0, 0, 0, 0], [0, 255, 255, 255]])


def test_fully_transparent_pixels_carry_no_colour(rng):
    rgb = photo(rng)
    alpha = np.zeros(rgb.shape[:2], np.uint8)
    alpha[10:30, 5:25] = 255
    alpha[30:32, 5:25] = 1  # barely visible: keeps its colour
    rgba = compose.compose(rgb, alpha)
    np.testing.assert_array_equal(rgba[..., 3], alpha)
    np.testing.assert_array_equal(rgba[alpha > 0][:, :3], rgb[alpha > 0])
    assert not rgba[alpha == 0].any()


def test_crop_cuts_an_output_to_the_people_with_room_for_the_soft_edge():
    alpha = np.zeros((400, 300), np.uint8)
    alpha[100:300, 50:150] = 255           # the person: 200 rows by 100 columns
    alpha[98:100, 50:150] = 60             # their soft edge, under half opaque
    alpha[380:390, 280:290] = 20           # a faint haze far from them
    pixels = np.dstack([np.full((400, 300, 3), 7, np.uint8), alpha])
    cropped = compose.crop_to_people(pixels, alpha, margin=0.02)  # 2% of 200 rows: 4 pixels of room
    np.testing.assert_array_equal(cropped, pixels[96:304, 46:154])
    np.testing.assert_array_equal(compose.crop_to_people(alpha, alpha, margin=0), alpha[100:300, 50:150])
    corner = np.zeros((400, 300), np.uint8)
    corner[:50, :30] = 200  # at the photo's corner: the room stops at its edges
    assert compose.crop_to_people(corner, corner, margin=0.5).shape == (75, 55)
    nobody = np.zeros((400, 300), np.uint8)
    assert compose.crop_to_people(nobody, nobody).shape == (400, 300)  # nothing to cut to: the whole frame


def test_canvas_fits_the_people_centred_or_at_the_edge_where_the_photo_cuts_them():
    image, alpha = np.zeros((120, 90, 3), np.uint8), np.zeros((120, 90), np.uint8)
    image[20:100, 30:70], alpha[20:100, 30:70] = (255, 0, 0), 255  # standing within the photo: 40 wide, 80 tall
    placed_image, placed_alpha = compose.on_canvas(image, alpha, (100, 100), margin=0)
    assert placed_alpha.shape == (100, 100) and boxed(placed_alpha) == (0, 99, 25, 74)  # scaled 1.25, centred
    assert (placed_image[placed_alpha == 255] == (255, 0, 0)).all() and placed_image[placed_alpha == 0].max() == 0
    bust = np.zeros_like(alpha)
    bust[80:, 5:85] = 255  # cut by the photo's bottom edge: 80 wide, 40 tall
    assert boxed(compose.on_canvas(image, bust, (100, 100), margin=0)[1]) == (50, 99, 0, 99)  # at the bottom
    hanging = np.zeros_like(alpha)
    hanging[:40, 5:85] = 255  # cut by the top edge
    assert boxed(compose.on_canvas(image, hanging, (100, 100), margin=0)[1]) == (0, 49, 0, 99)
    beside = np.zeros_like(alpha)
    beside[20:100, 60:] = 255  # cut by the right edge: 30 wide, 80 tall
    assert boxed(compose.on_canvas(image, beside, (100, 100), margin=0)[1]) == (0, 99, 62, 99)
    # Nobody: the whole photo, fitted and centred (90x120 scaled to 75x100).
    image[:] = 7
    nobody_image, nobody_alpha = compose.on_canvas(image, np.zeros_like(alpha), (100, 100))
    assert nobody_alpha.max() == 0 and boxed(255 * (nobody_image > 0)[..., 0]) == (0, 99, 12, 86)
