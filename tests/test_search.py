"""Search across shops: accents, case, prefixes, filters, ranking and paging."""

import pytest

from chatshop.domain.models import ProductChanges
from chatshop.services.search import match_expression
from tests.conftest import Territory


@pytest.fixture
async def stocked(territory: Territory) -> Territory:
    catalogue = territory.services.catalogue
    food, beauty = (await catalogue.categories())[0], (await catalogue.categories())[2]
    await territory.product("Crème de marrons", 650, category_id=food.id)
    await territory.product("Crème pour les mains", 1200, category_id=beauty.id,
                            description="Au lait d'ânesse.")
    await territory.product("Savon au lait d'ânesse", 500, category_id=beauty.id)
    await territory.product("Confiture fraise", 550, category_id=food.id,
                            description="Fraises de Rochechouart, sans crème.")
    return territory


async def names(territory: Territory, text: str, **filters: int) -> list[str]:
    page = await territory.services.search.search(text, **filters)
    return [item.product.name for item in page.items]


async def test_search_ignores_accents_and_case(stocked: Territory) -> None:
    for text in ["crème", "CREME", "creme", "Crème"]:
        assert set(await names(stocked, text)) >= {"Crème de marrons", "Crème pour les mains"}


async def test_search_matches_prefixes(stocked: Territory) -> None:
    assert set(await names(stocked, "crè")) >= {"Crème de marrons", "Crème pour les mains"}
    assert await names(stocked, "marr") == ["Crème de marrons"]
    assert await names(stocked, "anes") == ["Savon au lait d'ânesse", "Crème pour les mains"]


async def test_a_match_in_the_name_ranks_above_one_in_the_description(
        stocked: Territory) -> None:
    found = await names(stocked, "creme")
    assert found[-1] == "Confiture fraise"  # only its description says "crème"


async def test_every_word_must_match_but_filler_words_are_dropped(stocked: Territory) -> None:
    assert await names(stocked, "crème mains") == ["Crème pour les mains"]
    assert await names(stocked, "confiture de fraise") == ["Confiture fraise"]
    assert await names(stocked, "savon chocolat") == []


async def test_search_filters_by_category_shop_and_commune(stocked: Territory) -> None:
    beauty = (await stocked.services.catalogue.categories())[2]
    assert await names(stocked, "crème", category_id=beauty.id) == ["Crème pour les mains"]
    everywhere = await names(stocked, "crème")
    assert everywhere  # (the territory has one shop with crème)
    assert await names(stocked, "crème", shop_id=stocked.shop.id) == everywhere
    elsewhere = await stocked.services.shops.add_commune(stocked.operator, "Saint-Junien")
    assert await names(stocked, "crème", commune_id=elsewhere.id) == []
    shop, owner = await stocked.open_shop("Savonnerie de la Vienne", "2400", elsewhere)
    await stocked.product("Savon à la lavande", 600, shop=shop, owner=owner)
    assert await names(stocked, "savon", commune_id=elsewhere.id) == ["Savon à la lavande"]
    assert len(await names(stocked, "savon")) == 2


async def test_hidden_products_and_shops_on_holiday_are_not_found(stocked: Territory) -> None:
    services = stocked.services
    soap = (await services.search.search("savon")).items[0].product
    await services.catalogue.update_product(stocked.owner, soap.id, ProductChanges(hidden=True))
    assert await names(stocked, "savon") == []
    await services.shops.set_holiday(stocked.owner, stocked.shop.id, True)
    assert await names(stocked, "crème") == []


async def test_a_renamed_product_is_found_by_its_new_name(stocked: Territory) -> None:
    services = stocked.services
    soap = (await services.search.search("savon")).items[0].product
    await services.catalogue.update_product(stocked.owner, soap.id,
                                            ProductChanges(name="Pain de savon ânesse"))
    assert await names(stocked, "pain") == ["Pain de savon ânesse"]


async def test_search_results_are_paged(territory: Territory) -> None:
    for n in range(11):
        await territory.product(f"Bougie parfumée n°{n}")
    first = await territory.services.search.search("bougie", limit=8)
    second = await territory.services.search.search("bougie", offset=8, limit=8)
    assert (first.total, len(first.items), len(second.items)) == (11, 8, 3)
    assert first.has_next
    assert not second.has_next
    assert {i.product.id for i in first.items}.isdisjoint(i.product.id for i in second.items)


CREMES = ["Crème de marrons", "Crème pour les mains", "Confiture fraise"]


@pytest.mark.parametrize(("text", "found"), [
    # Syntax alone is no word: nothing to find.
    ('"', []), ("*", []), ("-", []), ("^", []), ("'", []),
    # Around a word it is left out: the word is searched.
    ('"crème"', CREMES), ('"crème', CREMES), ("crème*", CREMES), ("-crème", CREMES),
    ("^crème", CREMES), ("mains'", ["Crème pour les mains"]), ("mains -", ["Crème pour les mains"]),
    # Operators and column filters are words like any other, and every word must match.
    ("NEAR(crème mains)", []), ("crème OR savon", []), ("crème AND mains", []),
    ("col:crème", []),
])
async def test_fts_syntax_typed_by_a_user_is_read_as_plain_words(
        stocked: Territory, text: str, found: list[str]) -> None:
    page = await stocked.services.search.search(text)
    assert [item.product.name for item in page.items] == found
    assert page.total == len(found)


def test_the_query_quotes_each_word_and_keeps_fillers_if_nothing_else() -> None:
    assert match_expression("Crème de marrons") == \
        '("creme"* OR "crem") AND ("marrons"* OR "marron")'
    assert match_expression("de la") == '"de" AND "la"'
    assert match_expression(" !? ") is None


async def test_one_or_two_letters_match_whole_words_only(stocked: Territory) -> None:
    await stocked.product("Bonnet en laine", 1500)
    await stocked.product("Thé vert bio", 700)
    assert await names(stocked, "bo") == []  # not a prefix of « Bonnet »
    assert await names(stocked, "bio") == ["Thé vert bio"]
    assert await names(stocked, "thé bio") == ["Thé vert bio"]
    assert match_expression("eau de vie") == '"eau"* AND "vie"*'
    assert match_expression("sa") == '"sa"'
