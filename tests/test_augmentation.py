import cv2
import numpy as np
import pytest

import augmentation
import data
import scores


def test_random_geometry_flip_is_folded_into_the_warp_exactly():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (40, 30, 3), np.uint8)
    mask = (rng.random((40, 30, 1)) > 0.5).astype(np.uint8)
    # An identity affine with a flip: the one warp must equal a plain mirror image.
    flipped_image, flipped_mask = augmentation.random_geometry(image, mask, rng, flip_p=1, affine_p=1, zoom=(1, 1),
                                                               shift=0, degrees=0)
    np.testing.assert_array_equal(flipped_image, image[:, ::-1])
    np.testing.assert_array_equal(flipped_mask, mask[:, ::-1])
    same_image, same_mask = augmentation.random_geometry(image, mask, rng, flip_p=0, affine_p=0)
    assert same_image is image and same_mask is mask


def test_random_geometry_mirrors_borders_when_zooming_out():
    # A photo zoomed out to half size fills the frame with mirrored copies, not black.
    image = np.full((64, 64, 3), 200, np.uint8)
    mask = np.ones((64, 64, 1), np.uint8)
    out_image, out_mask = augmentation.random_geometry(image, mask, np.random.default_rng(0), affine_p=1,
                                                       zoom=(0.5, 0.5))
    assert out_image.min() == 200 and out_mask.min() == 1


def test_random_colour_keeps_greys_grey_and_changes_brightness_and_hue():
    rng = np.random.default_rng(0)
    greys = np.repeat(np.arange(0, 256, 4, dtype=np.uint8)[None, :, None], 3, axis=2)  # (1, 64, 3)
    brighter = augmentation.random_colour(greys, rng, brightness_contrast_p=1, brightness=0.1, contrast=0,
                                  hue_saturation_p=1, hue_degrees=20, saturation=0.2)
    # Hue and saturation changes leave grey pixels grey; brightness moves them all.
    assert np.abs(brighter.astype(int) - brighter[..., :1]).max() <= 1
    assert not np.array_equal(brighter, greys)
    assert brighter.dtype == np.uint8 and brighter.shape == greys.shape
    # A pure hue turn of a colour keeps its brightness (Y) and turns its chroma by that angle.
    orange = np.array([[[230, 120, 40]]], np.uint8)
    turned = augmentation.random_colour(orange, rng, brightness_contrast_p=0, hue_saturation_p=1, hue_degrees=20,
                                        saturation=0)
    yiq_before, yiq_after = (augmentation.RGB_TO_YIQ @ pixel.reshape(3).astype(float) for pixel in (orange, turned))
    assert abs(yiq_after[0] - yiq_before[0]) < 1
    angle = np.degrees(np.arctan2(yiq_after[2], yiq_after[1]) - np.arctan2(yiq_before[2], yiq_before[1]))
    assert 0.5 < abs(angle) <= 20.5
    assert np.hypot(*yiq_after[1:]) == pytest.approx(np.hypot(*yiq_before[1:]), abs=1.5)
    # Nothing drawn, nothing changed: the photo itself comes back.
    assert augmentation.random_colour(orange, rng, brightness_contrast_p=0, hue_saturation_p=0) is orange


def test_random_colour_saturates_instead_of_wrapping_around():
    white = np.full((4, 4, 3), 250, np.uint8)
    rng = np.random.default_rng(1)
    outs = [augmentation.random_colour(white, rng, brightness_contrast_p=1, hue_saturation_p=0) for _ in range(50)]
    # The darkest legal result is 250 * 0.75 - 0.25 * 255 = 123.75; wrapping past
    # 255 would land far below it (e.g. 250 * 1.2 + 40 = 340 -> 84).
    assert min(out.min() for out in outs) >= 123
    assert any(out.min() == 255 for out in outs)  # brightened photos clip at white
    assert all(out.min() == out.max() for out in outs)  # a flat photo stays flat


def test_grey_noise_has_the_drawn_strength_is_the_same_in_every_channel_and_saturates():
    mid_grey = np.full((200, 200, 3), 128, np.uint8)
    noisy = augmentation.add_grey_noise(mid_grey, np.random.default_rng(0), std=(0.05, 0.05))
    difference = noisy.astype(float) - 128
    assert difference.std() == pytest.approx(0.05 * 255, rel=0.05)
    assert abs(difference.mean()) < 0.5
    assert np.array_equal(noisy[..., 0], noisy[..., 1]) and np.array_equal(noisy[..., 0], noisy[..., 2])
    # The same seed, the same noise (OpenCV's generator is seeded from rng).
    assert np.array_equal(noisy, augmentation.add_grey_noise(mid_grey, np.random.default_rng(0), std=(0.05, 0.05)))
    near_white = np.full((200, 200, 3), 250, np.uint8)
    clipped = augmentation.add_grey_noise(near_white, np.random.default_rng(1), std=(0.08, 0.08))
    assert clipped.min() > 150 and clipped.max() == 255  # no wrap-around past 255


def test_augmentation_moves_image_and_mask_together():
    # Red where the person is, blue elsewhere: the mask can be read off the
    # pixels, and must still match them after any augmentation.
    mask = np.zeros((96, 96), np.uint8)
    cv2.circle(mask, (40, 50), 25, 1, -1)
    cv2.rectangle(mask, (60, 10), (80, 40), 1, -1)
    image = np.where(mask[..., None] == 1, np.array([220, 20, 20], np.uint8), np.array([20, 20, 220], np.uint8))
    augment = augmentation.make_augmentation(seed=0)
    moved = 0
    for _ in range(30):
        augmented_image, augmented_mask = augment(image, mask[..., None])
        assert augmented_image.shape == (96, 96, 3) and augmented_mask.shape == (96, 96, 1)
        augmented_mask = augmented_mask[..., 0]
        assert set(np.unique(augmented_mask)) <= {0, 1}  # nearest-neighbour keeps it binary
        reddish = augmented_image[..., 0].astype(int) > augmented_image[..., 2].astype(int)
        # Away from edges (blur and interpolation soften them) pixels and mask agree.
        interior = cv2.erode(augmented_mask, np.ones((5, 5))) | (1 - cv2.dilate(augmented_mask, np.ones((5, 5))))
        agreement = np.mean(reddish[interior == 1] == augmented_mask[interior == 1].astype(bool))
        assert agreement > 0.99
        moved += not np.array_equal(augmented_mask, mask)
    assert moved >= 15  # the geometry really changed in most draws


def test_augment_p_is_the_share_of_photos_augmented_at_all():
    rng = np.random.default_rng(3)
    image = rng.integers(0, 256, (48, 48, 3), dtype=np.uint8)
    mask = (rng.random((48, 48, 1)) < 0.5).astype(np.uint8)

    def unchanged_share(p, draws=400):
        augment = augmentation.make_augmentation(seed=0, p=p)
        unchanged = 0
        for _ in range(draws):
            new_image, new_mask = augment(image, mask)
            unchanged += np.array_equal(new_image, image) and np.array_equal(new_mask, mask)
        return unchanged / draws

    assert unchanged_share(0.0) == 1.0
    # With p = 1 a photo still comes through untouched when no transform is
    # drawn: (1 - 0.5 flip)(1 - 0.7 affine)(1 - 0.3 hue)(1 - 0.5 contrast)(1 - 0.2 quality) = 4.2%.
    assert unchanged_share(1.0) < 0.08
    assert 0.45 < unchanged_share(0.5) < 0.60  # half skipped + 4.2% of the other half
    with pytest.raises(ValueError, match="between 0 and 1, got 1.5"):
        augmentation.make_augmentation(p=1.5)


def test_paste_person_places_a_scaled_cutout_and_adds_it_to_the_mask():
    image = np.full((100, 120, 3), 10, np.uint8)
    mask = np.zeros((100, 120), np.uint8)
    mask[20:90, 10:30] = 1
    person_image = np.full((60, 60, 3), 50, np.uint8)
    person_image[10:50, 20:40] = 200
    person_image[10:50, 20:30] = 150  # a left half darker than the right, to see the mirroring
    person_mask = np.zeros((60, 60), np.uint8)
    person_mask[10:50, 20:40] = 1  # a 40x20 person
    pasted, new_mask = augmentation.paste_person(image, mask, person_image, person_mask, height=60, centre_x=80,
                                                 bottom=95)
    # 60 tall (x 1.5), so 30 wide, feet at row 95 centred on column 80: rows 35-95, columns 65-95.
    assert np.array_equal(new_mask[36:94, 66:94], np.ones((58, 28)))
    assert new_mask[:34].sum() == mask[:34].sum() and not new_mask[:, 97:].any() and not new_mask[96:].any()
    assert np.array_equal(new_mask[:, :40], mask[:, :40])  # the first person is untouched
    assert (pasted[40:90, 68:78] == 150).all() and (pasted[40:90, 82:92] == 200).all()
    assert (pasted[:30] == 10).all() and (pasted[:, 100:] == 10).all()  # only the person is pasted, not its photo
    assert mask.sum() == 70 * 20 and (image == 10).all()  # the inputs are left as they were
    mirrored, _ = augmentation.paste_person(image, mask, person_image, person_mask, height=60, centre_x=80, bottom=95,
                                            flip=True)
    assert (mirrored[40:90, 68:78] == 200).all() and (mirrored[40:90, 82:92] == 150).all()


def test_paste_person_cuts_off_what_leaves_the_frame_and_ignores_an_empty_source():
    image, mask = np.zeros((50, 50, 3), np.uint8), np.zeros((50, 50, 1), np.uint8)
    person_image, person_mask = np.full((40, 40, 3), 255, np.uint8), np.ones((40, 40, 1), np.uint8)
    pasted, new_mask = augmentation.paste_person(image, mask, person_image, person_mask, height=40, centre_x=0,
                                                 bottom=60)
    assert new_mask.shape == (50, 50, 1) and new_mask[20:, :20].all() and new_mask.sum() == 30 * 20
    assert (pasted[20:, :20] == 255).all() and not pasted[:, 21:].any()
    nobody = np.zeros((40, 40, 1), np.uint8)
    assert augmentation.paste_person(image, mask, person_image, nobody, 40, 25, 50)[1] is mask
    assert augmentation.paste_person(image, mask, person_image, person_mask, 40, 200, 50)[1] is mask  # beside the frame


def test_paste_p_adds_a_second_person_that_moves_with_its_mask():
    # Red person on blue, a green companion on blue: after augmentation the
    # mask must still be exactly the red and green pixels (away from edges).
    mask = np.zeros((96, 96), np.uint8)
    cv2.circle(mask, (30, 50), 20, 1, -1)
    image = np.where(mask[..., None] == 1, np.array([220, 20, 20], np.uint8), np.array([20, 20, 220], np.uint8))
    companion_mask = np.zeros((96, 96, 1), np.uint8)
    companion_mask[20:90, 40:60] = 1
    companion_image = np.where(companion_mask == 1, np.array([20, 220, 20], np.uint8), np.array([20, 20, 220], np.uint8))
    pasting = augmentation.make_augmentation(seed=0, paste_p=1.0)
    plain = augmentation.make_augmentation(seed=0, paste_p=0.0)
    with_companion = 0
    for _ in range(30):
        augmented_image, augmented_mask = (array[..., 0] if array.shape[-1] == 1 else array
                                           for array in pasting(image, mask[..., None], (companion_image, companion_mask)))
        person_coloured = augmented_image.argmax(axis=2) != 2
        interior = cv2.erode(augmented_mask, np.ones((5, 5))) | (1 - cv2.dilate(augmented_mask, np.ones((5, 5))))
        assert np.mean(person_coloured[interior == 1] == augmented_mask[interior == 1].astype(bool)) > 0.99
        with_companion += (augmented_image.argmax(axis=2) == 1).sum() > 50
        # paste_p = 0 draws nothing for the companion: the same photos as without one.
        plain_image, _ = plain(image, mask[..., None], (companion_image, companion_mask))
        assert (plain_image.argmax(axis=2) != 1).all()
    assert with_companion >= 25
    with pytest.raises(ValueError, match="second person must be between 0 and 1, got -0.1"):
        augmentation.make_augmentation(paste_p=-0.1)


def test_paste_p_zero_leaves_the_seeded_augmentation_as_it_was():
    rng = np.random.default_rng(5)
    image = rng.integers(0, 256, (48, 48, 3), dtype=np.uint8)
    mask = (rng.random((48, 48, 1)) < 0.5).astype(np.uint8)
    without, with_zero = augmentation.make_augmentation(seed=1), augmentation.make_augmentation(seed=1, paste_p=0.0)
    for _ in range(10):
        assert np.array_equal(without(image, mask)[0], with_zero(image, mask, (image, mask))[0])


def test_turn_on_side_gives_the_model_input_of_the_photo_turned_a_quarter():
    # A 3:4 photo: a person (head at the top, a brighter body) on a smooth background.
    photo = np.dstack([*np.meshgrid(np.linspace(0, 255, 90), np.linspace(0, 255, 120)), np.full((120, 90), 60.0)])
    photo_mask = np.zeros((120, 90), np.uint8)
    photo_mask[20:40, 35:55] = 1  # head
    photo_mask[40:110, 25:65] = 1  # body
    photo[photo_mask == 1] = (250, 200, 30)
    photo = photo.astype(np.uint8)
    size = (96, 96)
    model_input, target = data.preprocess_image(photo, size), data.preprocess_mask(photo_mask, size)
    for clockwise, turns in ((True, 3), (False, 1)):  # np.rot90 turns anticlockwise
        turned, turned_mask = augmentation.turn_on_side(model_input, target, clockwise)
        expected = data.preprocess_image(np.rot90(photo, turns), size)
        expected_mask = data.preprocess_mask(np.rot90(photo_mask, turns), size)
        assert turned.shape == (96, 96, 3) and turned_mask.shape == (96, 96, 1)
        assert np.abs(turned.astype(int) - expected).mean() < 3
        assert scores.iou(expected_mask, turned_mask) > 0.95
        # A 4:3 band of 54 rows between grey bars, the bars background.
        assert (turned[:21] == data.LETTERBOX_GREY).all() and (turned[75:] == data.LETTERBOX_GREY).all()
        assert turned_mask[:21].sum() == 0 and turned_mask[75:].sum() == 0


def test_sideways_p_turns_that_share_of_photos_and_zero_changes_nothing():
    rng = np.random.default_rng(5)
    image = rng.integers(0, 256, (96, 96, 3), dtype=np.uint8)
    mask = (rng.random((96, 96, 1)) < 0.5).astype(np.uint8)
    always = augmentation.make_augmentation(seed=1, sideways_p=1.0)
    for _ in range(10):
        turned, turned_mask = always(image, mask)
        assert (turned[:21] == data.LETTERBOX_GREY).all() and turned_mask[:21].sum() == 0
    without, with_zero = augmentation.make_augmentation(seed=1), augmentation.make_augmentation(seed=1, sideways_p=0.0)
    for _ in range(10):
        assert np.array_equal(without(image, mask)[0], with_zero(image, mask)[0])
    with pytest.raises(ValueError, match="turned on their side must be between 0 and 1, got 1.5"):
        augmentation.make_augmentation(sideways_p=1.5)


def test_motion_blur_smears_a_photo_along_its_direction_only():
    image = np.zeros((60, 60, 3), np.uint8)
    image[:, 30:] = 240  # an upright edge
    across = augmentation.motion_blur(image, 11, angle=0)
    # Across it, an even ramp over the 11 pixels of the line; along it, the edge as sharp as it was.
    np.testing.assert_allclose(across[30, 24:37, 0], np.clip(np.arange(-5.5, 7.5) / 11 + 0.5, 0, 1) * 240, atol=1.5)
    np.testing.assert_array_equal(augmentation.motion_blur(image, 11, angle=90), image)
    assert across[..., 0].mean() == pytest.approx(image[..., 0].mean(), rel=0.01)  # light neither made nor lost


def test_motion_blur_p_blurs_that_share_of_photos_and_zero_changes_nothing():
    rng = np.random.default_rng(5)
    image = rng.integers(0, 256, (96, 96, 3), dtype=np.uint8)
    mask = (rng.random((96, 96, 1)) < 0.5).astype(np.uint8)
    never = augmentation.make_augmentation(seed=1, low_quality_p=0)
    always = augmentation.make_augmentation(seed=1, low_quality_p=0, motion_blur_p=1.0)
    sharp, blurred = never(image, mask), always(image, mask)
    np.testing.assert_array_equal(blurred[1], sharp[1])  # the same geometry, the mask left sharp
    # Blurred: neighbouring pixels of random noise become alike.
    assert np.abs(np.diff(blurred[0].astype(int), axis=1)).mean() < 0.7 * np.abs(np.diff(sharp[0].astype(int), axis=1)).mean()
    without, with_zero = augmentation.make_augmentation(seed=1), augmentation.make_augmentation(seed=1,
                                                                                                motion_blur_p=0.0)
    for _ in range(10):
        assert np.array_equal(without(image, mask)[0], with_zero(image, mask)[0])
    with pytest.raises(ValueError, match="blurred by motion must be between 0 and 1, got -0.1"):
        augmentation.make_augmentation(motion_blur_p=-0.1)
