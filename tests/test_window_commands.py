"""The window's commands as a shopkeeper's helper or the operator types them:
``chatshop poster`` (a shop's poster, its labels, the territory's poster, as PDF files),
``chatshop links`` with the window's addresses, and their one-line refusals."""

from __future__ import annotations

import asyncio
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
    assert err.startswith(f"chatshop: Impossible d’écrire {tmp_path}/no-such-folder/affiche.pdf")
    assert len(err.splitlines()) == 1
    assert list(tmp_path.glob("*.pdf")) == []


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


def test_photos_fetch_needs_the_bot_s_token(demo: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["photos", "fetch", "--database", str(demo)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("chatshop: CHATSHOP_TELEGRAM_TOKEN : manquant / missing")
    assert len(err.splitlines()) == 1


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
        environment = {k: v for k, v in os.environ.items()
                       if not k.upper().startswith("CHATSHOP_")}
        environment.update(server.environment(), CHATSHOP_TELEGRAM_TOKEN=TOKEN,
                           CHATSHOP_DATABASE=str(tmp_path / "chatshop.db"))
        outputs = []
        for _ in range(2):
            done = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "chatshop", "photos", "fetch", cwd=tmp_path,
                env=environment, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE)
            out, err = await done.communicate()
            assert done.returncode == 0, err.decode()
            outputs.append(out.decode())
    assert outputs[0].startswith("1 photo téléchargée et gardée.")
    assert outputs[1].strip() == "Toutes les photos sont déjà gardées\u00a0: rien à faire."
    kept = (await territory.services.catalogue.product(honey.id)).photos
    sha = territory.services.images.web_image(kept)
    assert sha is not None
    preview = await territory.services.images.variant(sha, "preview")
    assert preview is not None
    assert Image.open(io.BytesIO(preview)).size == (1200, 630)
