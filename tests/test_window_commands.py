"""The window's commands as a shopkeeper's helper or the operator types them:
``chatshop poster`` (a shop's poster, its labels, the territory's poster, as PDF files),
``chatshop links`` with the window's addresses, and their one-line refusals."""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import sys
from pathlib import Path

import pypdfium2
import pytest
from PIL import Image

from chatshop.cli import main
from chatshop.storage import Store
from tests.conftest import Territory
from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.bot_api_http import BotAPIServer
from tests.test_crash import TOKEN

pytestmark = pytest.mark.usefixtures("clean_environment")


@pytest.fixture
def demo(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    database = tmp_path / "demo.db"
    assert main(["seed-demo", "--database", str(database)]) == 0
    capsys.readouterr()
    return database


def pdf_text(path: Path) -> str:
    document = pypdfium2.PdfDocument(path)
    try:
        return "\n".join(page.get_textpage().get_text_range() for page in document)
    finally:
        document.close()


def test_a_shop_s_poster_is_written_where_asked_and_says_which_codes_are_missing(
        demo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHATSHOP_TELEGRAM_USERNAME", "TerritoireBot")
    poster = tmp_path / "vitrine.pdf"
    assert main(["poster", "espace-coiffure", "--database", str(demo),
                 "--output", str(poster)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == f"Affiche de la boutique Espace coiffure écrite dans {poster}."
    assert "Pas de code WhatsApp\u00a0: renseignez CHATSHOP_WHATSAPP_NUMBER." in out
    assert "Pas de code Telegram" not in out
    assert poster.read_bytes().startswith(b"%PDF")
    assert "Réservez ici, payez en boutique" in pdf_text(poster)


def test_labels_and_the_territory_s_poster_get_names_of_their_own(
        demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CHATSHOP_PUBLIC_URL", "https://vitrine.example.fr")
    assert main(["poster", "espace-coiffure", "--labels", "--database", str(demo)]) == 0
    assert main(["poster", "--database", str(demo)]) == 0
    capsys.readouterr()
    labels = tmp_path / "etiquettes-espace-coiffure.pdf"
    assert "€" in pdf_text(labels)
    assert (tmp_path / "affiche-mon-territoire.pdf").read_bytes().startswith(b"%PDF")


def test_an_unknown_shop_or_labels_without_a_shop_end_in_one_french_line(
        demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["poster", "boulangerie", "--database", str(demo)]) == 2
    err = capsys.readouterr().err
    assert err == ("chatshop: Aucune boutique «\u00a0boulangerie\u00a0»\u00a0: `chatshop links` "
                   "liste les boutiques avec leur identifiant.\n")
    assert main(["poster", "--labels", "--database", str(demo)]) == 2
    assert capsys.readouterr().err.startswith("chatshop: --labels demande une boutique")
    assert main(["poster", "espace-coiffure", "--database", str(demo),
                 "--output", str(tmp_path / "no-such-folder" / "affiche.pdf")]) == 2
    err = capsys.readouterr().err
    assert err == (f"chatshop: Impossible d’écrire {tmp_path}/no-such-folder/affiche.pdf\u00a0: "
                   "son dossier n’existe pas\n")
    assert len(err.splitlines()) == 1
    assert list(tmp_path.glob("*.pdf")) == []


def test_the_window_and_the_posters_want_an_existing_database_and_the_window_on(
        tmp_path: Path, demo: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    mistyped = tmp_path / "demo.bd"
    for command in (["web"], ["poster", "espace-coiffure"]):
        assert main([*command, "--database", str(mistyped)]) == 2
        assert capsys.readouterr().err == (
            f"chatshop: CHATSHOP_DATABASE\u00a0: la base {mistyped} n’existe pas "
            "(«\u00a0chatshop migrate\u00a0» la crée, «\u00a0chatshop seed-demo\u00a0» "
            "charge la démo).\n")
    assert not mistyped.exists()
    monkeypatch.setenv("CHATSHOP_WEB_ENABLED", "false")
    assert main(["web", "--database", str(demo)]) == 2
    assert capsys.readouterr().err == (
        "chatshop: CHATSHOP_WEB_ENABLED vaut false\u00a0: la vitrine est désactivée.\n")


def test_links_without_any_address_to_make_them_say_which_settings_give_one(
        demo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["links", "--database", str(demo)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("chatshop: Aucun lien ne peut être fait\u00a0: donnez le nom du bot")
    assert "CHATSHOP_TELEGRAM_USERNAME" in err
    assert len(err.splitlines()) == 1


def test_links_give_each_shop_and_product_its_web_page_too(
        demo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("CHATSHOP_TELEGRAM_USERNAME", "TerritoireBot")
    monkeypatch.setenv("CHATSHOP_PUBLIC_URL", "https://vitrine.example.fr/")
    assert main(["links", "--database", str(demo)]) == 0
    lines = capsys.readouterr().out.splitlines()
    shop = next(line for line in lines if line.startswith("Espace coiffure"))
    assert "https://t.me/TerritoireBot?start=s_espace-coiffure" in shop
    assert "https://vitrine.example.fr/boutique/espace-coiffure" in shop
    products = [line for line in lines if "/produit/" in line]
    assert products
    assert all("https://t.me/TerritoireBot?start=p_" in line for line in products)


async def chatshop_command(folder: Path, *args: str, **variables: str) -> str:
    """``python -m chatshop args`` on the test's database (``folder/chatshop.db``, the
    ``store`` fixture's, open meanwhile as the bot's would be); its output, once it
    ended with status 0."""
    environment = {k: v for k, v in os.environ.items() if not k.upper().startswith("CHATSHOP_")}
    environment.update(variables, CHATSHOP_DATABASE=str(folder / "chatshop.db"))
    done = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "chatshop", *args, cwd=folder, env=environment,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await done.communicate()
    assert done.returncode == 0, err.decode()
    return out.decode()


async def test_without_a_token_photos_fetch_cleans_the_old_photos_and_says_what_is_left(
        territory: Territory, store: Store, tmp_path: Path) -> None:
    """A territory on WhatsApp alone: the photos kept before this version (as they came,
    GPS and all) are cleaned without any token; the Telegram-only ones are counted."""
    buffer = io.BytesIO()
    exif = Image.Exif()
    exif[0x8825] = {2: (45.0, 49.0, 0.0)}  # a GPS latitude
    Image.new("RGB", (640, 480), (90, 140, 60)).save(buffer, "JPEG", exif=exif.tobytes())
    old = hashlib.sha256(buffer.getvalue()).hexdigest()
    await store.outbox.keep_media(old, "image/jpeg", buffer.getvalue(),
                                  territory.services.clock())
    jam = await territory.product("Confiture", 520, photo=("whatsapp", f"media:{old}"))
    await territory.product("Miel", 900, photo=("telegram", "AgAC-only-on-telegram"))
    migrated = await chatshop_command(tmp_path, "migrate")
    assert "1 photo gardée avant cette version porte encore ses métadonnées" in migrated
    out = (await chatshop_command(tmp_path, "photos", "fetch")).splitlines()
    assert out == [
        "1 photo gardée avant cette version nettoyée (ses métadonnées, GPS compris, "
        "retirées) et mise aux tailles.",
        "1 photo que seul Telegram détient reste à récupérer\u00a0: renseignez "
        "CHATSHOP_TELEGRAM_TOKEN pour la télécharger."]
    kept = territory.services.images.web_image(
        (await territory.services.catalogue.product(jam.id)).photos)
    assert kept is not None
    assert kept != old
    media = await store.media.file(kept)
    assert media is not None
    assert not Image.open(io.BytesIO(media[1])).getexif()


async def test_photos_fetch_downloads_from_telegram_what_only_telegram_holds(
        territory: Territory, store: Store, tmp_path: Path) -> None:
    """The real command, against the fake Bot API served on 127.0.0.1: a product whose
    photo Telegram alone holds ends with a kept image, its sizes, and a second run has
    nothing to do."""
    api = FakeBotAPI()
    buffer = io.BytesIO()
    Image.new("RGB", (800, 600), (200, 120, 40)).save(buffer, "JPEG")
    honey = await territory.product("Miel", 900,
                                    photo=("telegram", api.photo_file(buffer.getvalue())))
    async with BotAPIServer(api) as server:
        outputs = [await chatshop_command(tmp_path, "photos", "fetch", **server.environment(),
                                          CHATSHOP_TELEGRAM_TOKEN=TOKEN) for _ in range(2)]
    assert outputs[0].startswith("1 photo téléchargée et gardée.")
    assert outputs[1].strip() == "Toutes les photos sont déjà gardées\u00a0: rien à faire."
    kept = (await territory.services.catalogue.product(honey.id)).photos
    sha = territory.services.images.web_image(kept)
    assert sha is not None
    preview = await territory.services.images.variant(sha, "preview")
    assert preview is not None
    assert Image.open(io.BytesIO(preview)).size == (1200, 630)
