"""Photos kept as images (#11 §1): a shopkeeper's phone photo is kept upright and without
its metadata (GPS included), in three sizes for the shop window; a file that is no photo
is refused in French and nothing is kept; the window serves only the photos of listed
products and active shops, cached for good; ``chatshop photos fetch`` keeps the photos
that were only Telegram file ids."""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import AsyncIterator

import httpx
import pytest
from PIL import ExifTags, Image, ImageCms
from starlette.applications import Starlette

from chatshop.channels.telegram.bot import TelegramChannel
from chatshop.conversation.messages import Reply
from chatshop.domain.models import ProductChanges
from chatshop.errors import InvalidInput
from chatshop.services import Services
from chatshop.services.image_sizes import PAD
from chatshop.storage import Store
from chatshop.web.images import CACHE_FOREVER, image_path, routes
from tests.conftest import FakeClock, Territory
from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.graph_api import FakeGraphAPI
from tests.test_telegram import Phone, running
from tests.test_whatsapp import LEA, Meta, whatsapp_shopkeeper
from tests.test_whatsapp import running as running_whatsapp
from tests.test_whatsapp import webhook as whatsapp_webhook

RED, BLUE, GREEN = (220, 30, 30), (30, 30, 220), (20, 110, 40)


def jpeg(image: Image.Image, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=92, **options)
    return out.getvalue()


def phone_photo() -> bytes:
    """A 400×200 JPEG, red on the left and blue on the right, as a phone held upright
    writes it: the sensor's pixels, with « rotate 90° » (orientation 6) and where it was
    taken (GPS) in its EXIF."""
    image = Image.new("RGB", (400, 200), BLUE)
    image.paste(RED, (0, 0, 200, 200))
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    exif[ExifTags.Base.Make] = "PhoneMaker"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (45.0, 49.0, 5.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (0.0, 49.0, 20.0)
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><exif:GPSLatitude>45,49N</exif:GPSLatitude>' \
        b"</x:xmpmeta>"
    return jpeg(image, exif=exif, icc_profile=profile, xmp=xmp)


def opened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def near(pixel: object, colour: tuple[int, int, int], tolerance: int = 12) -> bool:
    assert isinstance(pixel, tuple)
    return all(abs(a - b) <= tolerance for a, b in zip(pixel[:3], colour, strict=True))


async def media_count(store: Store) -> int:
    return int((await store.db.lookup(  # type: ignore[attr-defined]
        "SELECT count(*) FROM media"))[0][0])


async def kept_sizes(store: Store, sha: str) -> dict[str, tuple[int, int]]:
    found = await store.db.lookup(  # type: ignore[attr-defined]
        "SELECT variant, width, height FROM media_sizes WHERE sha256 = ?", (sha,))
    return {row[0]: (row[1], row[2]) for row in found}


# -- cleaned and sized ------------------------------------------------------------------


async def test_a_phone_photo_is_kept_upright_without_exif_or_gps(
        services: Services, store: Store) -> None:
    original = opened(phone_photo())
    assert original.getexif().get_ifd(ExifTags.IFD.GPSInfo)  # the phone said where
    assert {"icc_profile", "xmp"} <= set(original.info)
    reference = await services.delivery.keep_media(phone_photo(), "image/jpeg")
    kept = await services.delivery.media(reference)
    assert kept is not None
    sha = reference.removeprefix("media:")
    pictures = [kept[1]] + [await services.images.variant(sha, name) or b""
                            for name in ("display", "thumb")]
    for data in pictures:
        image = opened(data)
        assert image.format == "JPEG"
        width, height = image.size
        assert height == 2 * width  # turned upright (the thumbnail is 160×320)
        assert near(image.getpixel((width // 2, height // 8)), RED)  # the red half on top
        assert near(image.getpixel((width // 2, height * 7 // 8)), BLUE)
        exif = image.getexif()
        assert len(exif) == 0
        assert not exif.get_ifd(ExifTags.IFD.GPSInfo)
        assert not {"exif", "xmp", "icc_profile", "comment"} & set(image.info)
        assert b"PhoneMaker" not in data
        assert b"xmpmeta" not in data
    assert kept[0] == "image/jpeg"


async def test_the_sizes_are_bounded_and_the_preview_is_1200_by_630_under_300_kb(
        services: Services, store: Store) -> None:
    # A noisy 12-megapixel photo: the hardest thing to compress.
    noisy = Image.frombytes("RGB", (4000, 3000), os.urandom(4000 * 3000 * 3))
    sha = (await services.images.keep(jpeg(noisy))).removeprefix("media:")
    stored = await kept_sizes(store, sha)
    assert stored == {"display": (1024, 768), "thumb": (320, 240), "preview": (1200, 630)}
    kept = await services.delivery.media(f"media:{sha}")
    assert kept is not None
    assert opened(kept[1]).size == (1600, 1200)  # what other platforms are sent
    preview = await services.images.variant(sha, "preview")
    assert preview is not None
    assert len(preview) <= 300 * 1024
    image = opened(preview)
    assert image.size == (1200, 630)
    # Fitted (840×630) and padded at the sides, not cropped.
    for corner in ((5, 5), (1194, 5), (5, 624), (1194, 624)):
        assert near(image.getpixel(corner), PAD)


async def test_the_preview_pads_a_wide_photo_and_keeps_its_shape(
        services: Services) -> None:
    wide = Image.new("RGB", (1000, 400), GREEN)  # 2.5 : 1 -> 1200×480 inside 1200×630
    sha = (await services.images.keep(jpeg(wide))).removeprefix("media:")
    image = opened(await services.images.variant(sha, "preview") or b"")
    column = [image.getpixel((600, y)) for y in range(630)]
    content = [y for y, pixel in enumerate(column) if near(pixel, GREEN, 30)]
    assert near(column[3], PAD)
    assert near(column[626], PAD)
    assert abs(len(content) - 480) <= 4  # the whole picture, its proportions kept
    assert abs(content[0] - 75) <= 3
    assert near(image.getpixel((2, 315)), GREEN, 30)  # edge to edge across


async def test_a_png_with_transparency_is_laid_over_white(services: Services) -> None:
    logo = Image.new("RGBA", (300, 300), (0, 0, 0, 0))
    logo.paste((*RED, 255), (100, 100, 200, 200))
    out = io.BytesIO()
    logo.save(out, "PNG")
    reference = await services.delivery.keep_media(out.getvalue(), "image/png")
    kept = await services.delivery.media(reference)
    assert kept is not None
    image = opened(kept[1])
    assert image.mode == "RGB"
    assert near(image.getpixel((20, 20)), (255, 255, 255))
    assert near(image.getpixel((150, 150)), RED)


async def test_webp_and_the_first_frame_of_an_animated_gif_are_read(
        services: Services) -> None:
    webp = io.BytesIO()
    Image.new("RGB", (120, 80), GREEN).save(webp, "WEBP")
    gif = io.BytesIO()
    frames = [Image.new("RGB", (90, 90), colour) for colour in (RED, BLUE)]
    frames[0].save(gif, "GIF", save_all=True, append_images=frames[1:], duration=200)
    for data, colour, size in ((webp.getvalue(), GREEN, (120, 80)),
                               (gif.getvalue(), RED, (90, 90))):
        kept = await services.delivery.media(await services.delivery.keep_media(
            data, "image/webp"))
        assert kept is not None
        image = opened(kept[1])
        assert (image.format, image.size) == ("JPEG", size)
        assert near(image.getpixel((size[0] // 2, size[1] // 2)), colour, 20)


async def test_the_same_photo_sent_twice_is_kept_once(
        services: Services, store: Store) -> None:
    first = await services.delivery.keep_media(phone_photo(), "image/jpeg")
    again = await services.delivery.keep_media(phone_photo(), "image/jpeg")
    assert first == again
    assert await media_count(store) == 1
    assert len(await kept_sizes(store, first.removeprefix("media:"))) == 3  # sized once


def bomb() -> bytes:
    """A 20 000 × 20 000 PNG (400 megapixels) in a few kilobytes."""
    out = io.BytesIO()
    Image.new("1", (20000, 20000)).save(out, "PNG")
    return out.getvalue()


@pytest.mark.parametrize(("name", "data", "said"), [
    ("a CSV renamed .jpg", b"nom;prix;stock\nSavon lavande;6,50;12\n",
     "Ce fichier n’est pas une photo que nous savons lire."),
    ("a truncated photo", phone_photo()[:1500],
     "Ce fichier n’est pas une photo que nous savons lire."),
    ("a decompression bomb", bomb(), "Cette photo est trop grande"),
])
async def test_a_file_that_is_no_usable_photo_is_refused_in_french_and_nothing_is_kept(
        services: Services, store: Store, name: str, data: bytes, said: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        await services.delivery.keep_media(data, "image/jpeg")
    assert refused.value.message().startswith(said), name
    assert await media_count(store) == 0


# -- served to the window ---------------------------------------------------------------


@pytest.fixture
async def web(services: Services) -> AsyncIterator[httpx.AsyncClient]:
    app = Starlette(routes=routes(services))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://vitrine.test") as client:
        yield client


async def test_a_listed_product_s_photo_is_served_cached_for_good(
        territory: Territory, web: httpx.AsyncClient) -> None:
    reference = await territory.services.images.keep(phone_photo())
    soap = await territory.product("Savon lavande", 650, photo=("whatsapp", reference))
    sha = territory.services.images.web_image(soap.photos)
    assert sha == reference.removeprefix("media:")
    for variant in ("display", "thumb", "preview"):
        answer = await web.get(image_path(sha, variant))
        assert answer.status_code == 200
        assert answer.headers["content-type"] == "image/jpeg"
        assert answer.headers["cache-control"] == CACHE_FOREVER
        assert answer.headers["etag"] == f'"{sha}-{variant}"'
        assert opened(answer.content).format == "JPEG"
    again = await web.get(image_path(sha, "thumb"),
                          headers={"If-None-Match": f'"{sha}-thumb"'})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == f'"{sha}-thumb"'


async def test_only_photos_of_listed_products_and_active_shops_are_served(
        territory: Territory, web: httpx.AsyncClient, store: Store) -> None:
    services = territory.services
    loose = (await services.images.keep(phone_photo())).removeprefix("media:")
    assert (await web.get(image_path(loose, "display"))).status_code == 404  # nobody's
    hidden_ref = await services.images.keep(jpeg(Image.new("RGB", (50, 50), GREEN)))
    hidden = await territory.product("Savon caché", 650, photo=("whatsapp", hidden_ref))
    await services.catalogue.update_product(territory.owner, hidden.id,
                                            ProductChanges(hidden=True))
    hidden_sha = hidden_ref.removeprefix("media:")
    assert (await web.get(image_path(hidden_sha, "thumb"))).status_code == 404
    shop_ref = await services.images.keep(jpeg(Image.new("RGB", (80, 60), BLUE)))
    await services.shops.set_photo(territory.owner, territory.shop.id, "whatsapp", shop_ref)
    shop_sha = shop_ref.removeprefix("media:")
    assert (await web.get(image_path(shop_sha, "display"))).status_code == 200
    for wrong in (f"/image/{shop_sha}-huge.jpg", f"/image/{shop_sha}-thumb.png",
                  f"/image/{shop_sha.upper()}-thumb.jpg", "/image/abc-thumb.jpg",
                  f"/image/{shop_sha[:-1]}g-thumb.jpg", "/image/..%2fchatshop.db"):
        assert (await web.get(wrong)).status_code == 404, wrong
    assert await media_count(store) == 3  # and nothing else was read into it


async def test_a_photo_kept_before_this_version_is_served_before_photos_fetch(
        territory: Territory, web: httpx.AsyncClient, store: Store) -> None:
    old = hashlib.sha256(phone_photo()).hexdigest()  # as an older version kept it
    await store.outbox.keep_media(old, "image/jpeg", phone_photo(),
                                  territory.services.clock())
    await territory.product("Confiture", 520, photo=("whatsapp", f"media:{old}"))
    answer = await web.get(image_path(old, "preview"))
    assert answer.status_code == 200
    image = opened(answer.content)
    assert image.size == (1200, 630)
    assert not image.getexif()  # the sizes are made from the cleaned picture
    assert set(await kept_sizes(store, old)) == {"display", "thumb", "preview"}


# -- photos fetch ----------------------------------------------------------------------


async def test_photos_fetch_keeps_telegram_only_photos_and_goes_on_past_a_failure(
        territory: Territory, store: Store) -> None:
    services = territory.services
    honey = await territory.product("Miel", 900, photo=("telegram", "AgAC-honey"))
    soap = await territory.product("Savon", 650, photo=("telegram", "AgAC-soap"))
    same = await territory.product("Savon (lot)", 1200, photo=("telegram", "AgAC-soap"))
    lost = await territory.product("Bougie", 1500, photo=("telegram", "AgAC-gone"))
    await services.shops.set_photo(territory.owner, territory.shop.id, "telegram",
                                   "AgAC-shop")
    # A WhatsApp photo kept by an older version: the file as it came, GPS and all.
    old = hashlib.sha256(phone_photo()).hexdigest()
    await store.outbox.keep_media(old, "image/jpeg", phone_photo(), services.clock())
    jam = await territory.product("Confiture", 520, photo=("whatsapp", f"media:{old}"))
    files = {"AgAC-honey": jpeg(Image.new("RGB", (640, 480), GREEN)),
             "AgAC-soap": phone_photo(), "AgAC-shop": jpeg(Image.new("RGB", (90, 90), RED))}
    asked: list[str] = []

    async def download(file_id: str) -> bytes:
        asked.append(file_id)
        if file_id not in files:
            raise ConnectionError("Telegram: file is too big or expired")
        return files[file_id]

    report = await services.images.backfill(download)
    assert (report.fetched, report.already, report.sized) == (3, 1, 1)
    assert report.failed == [(f"product {lost.id}", "Telegram: file is too big or expired")]
    assert sorted(asked) == ["AgAC-gone", "AgAC-honey", "AgAC-shop", "AgAC-soap"]  # once
    for product in (honey, soap, same):
        photos = (await services.catalogue.product(product.id)).photos
        assert photos["telegram"].startswith("AgAC-")  # Telegram's own, unchanged
        sha = services.images.web_image(photos)
        assert sha is not None
        assert set(await kept_sizes(store, sha)) == {"display", "thumb", "preview"}
    shop = await services.shops.get(territory.shop.id)
    assert services.images.web_image(shop.photos) is not None
    # The old photo is kept again cleaned, the product shows that copy, the old is gone.
    clean = services.images.web_image((await services.catalogue.product(jam.id)).photos)
    assert clean is not None
    assert clean != old
    assert set(await kept_sizes(store, clean)) == {"display", "thumb", "preview"}
    kept = await services.delivery.media(f"media:{clean}")
    assert kept is not None
    assert not opened(kept[1]).getexif()
    assert await services.delivery.media(f"media:{old}") is None
    assert services.images.web_image((await services.catalogue.product(lost.id)).photos) \
        is None
    # Run again: only the one that failed is asked for.
    asked.clear()
    again = await services.images.backfill(download)
    assert asked == ["AgAC-gone"]
    assert (again.fetched, again.sized, len(again.failed)) == (0, 0, 1)


async def test_photos_fetch_keeps_an_old_photo_a_waiting_message_still_shows(
        territory: Territory, store: Store) -> None:
    services = territory.services
    old = hashlib.sha256(phone_photo()).hexdigest()
    await store.outbox.keep_media(old, "image/jpeg", phone_photo(), services.clock())
    jam = await territory.product("Confiture", 520, photo=("whatsapp", f"media:{old}"))
    await services.delivery.queue([("whatsapp", "33612345678", Reply(
        text="Confiture", photo=f"media:{old}").model_dump_json(), None)])

    async def download(file_id: str) -> bytes:
        raise AssertionError("no Telegram photo to fetch")

    report = await services.images.backfill(download)
    assert report.sized == 1
    photos = (await services.catalogue.product(jam.id)).photos
    assert photos["whatsapp"] != f"media:{old}"  # the product shows the clean copy
    assert await services.delivery.media(f"media:{old}") is not None  # still to be sent


# -- from the shopkeeper's phone --------------------------------------------------------


@pytest.fixture
async def telegram(territory: Territory, services: Services, store: Store,
                   api: FakeBotAPI) -> AsyncIterator[TelegramChannel]:
    async with running(services, store, api) as started:
        yield started


@pytest.fixture
def api() -> FakeBotAPI:
    return FakeBotAPI()


@pytest.fixture
def lea(api: FakeBotAPI, store: Store) -> Phone:
    return Phone(api, store, api.user(2000, "Léa", started=True))


async def test_a_shopkeeper_s_telegram_photo_ends_with_its_sizes_stored(
        territory: Territory, telegram: TelegramChannel, lea: Phone, api: FakeBotAPI,
        store: Store) -> None:
    await lea.handled(api.send_photo(lea.user, phone_photo(),
                                     caption="Savon lavande 6,50 € x12"))
    page = await territory.services.catalogue.maker_products(territory.owner,
                                                             territory.shop.id)
    (soap,) = page.items
    sha = territory.services.images.web_image(soap.photos)
    assert sha is not None
    assert await kept_sizes(store, sha) == {
        "display": (200, 400), "thumb": (160, 320), "preview": (1200, 630)}


async def test_a_telegram_photo_that_is_no_picture_gets_a_french_answer_and_no_product(
        territory: Territory, telegram: TelegramChannel, lea: Phone, api: FakeBotAPI,
        store: Store) -> None:
    await lea.handled(api.send_photo(lea.user, b"nom;prix\nSavon;6,50\n",
                                     caption="Savon lavande 6,50 € x12"))
    assert lea.screen.startswith("Ce fichier n’est pas une photo que nous savons lire.")
    assert "🏠 Menu" in lea.labels
    page = await territory.services.catalogue.maker_products(territory.owner,
                                                             territory.shop.id)
    assert page.items == ()
    assert await media_count(store) == 0


@pytest.fixture
async def meta(territory: Territory, services: Services, store: Store,
               clock: FakeClock) -> AsyncIterator[Meta]:
    graph = FakeGraphAPI(wall_clock=clock)
    async with running_whatsapp(services, store, graph) as channel, \
            whatsapp_webhook(graph, channel) as posting:
        yield posting


async def test_a_whatsapp_photo_that_is_no_picture_gets_a_french_answer_and_no_product(
        territory: Territory, meta: Meta, store: Store) -> None:
    await whatsapp_shopkeeper(territory)
    photo = meta.api.image(LEA, "Léa", b"nom;prix\nSavon;6,50\n",
                           caption="Savon lavande 6,50 € x12")
    assert (await meta.deliver(photo)).status_code == 200
    answer = meta.api.last(LEA)
    assert (answer.text or "").startswith("Ce fichier n’est pas une photo que nous savons lire.")
    assert [title for _id, title in answer.buttons] == ["🏠 Menu"]
    page = await territory.services.catalogue.maker_products(territory.owner,
                                                             territory.shop.id)
    assert page.items == ()
    assert await media_count(store) == 0
