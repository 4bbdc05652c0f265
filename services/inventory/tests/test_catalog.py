from inventory.seed import catalog


def test_list_products_returns_the_whole_seeded_catalog_sorted_by_name(service):
    products = service.list_products()

    names = [p["name"] for p in products]
    assert names == sorted(names)
    assert {p["id"] for p in products} == {item["id"] for item in catalog()}


def test_product_names_tell_the_vial_cap_color(service):
    names = {p["id"]: p["name"] for p in service.list_products()}

    assert names["pfizer-gray-12plus"] == "Pfizer-BioNTech COVID-19 Vaccine (Gray Cap)"
    assert names["pfizer-purple-12plus"] == "Pfizer-BioNTech COVID-19 Vaccine (Purple Cap)"
    assert names["pfizer-orange-5to11"] == "Pfizer-BioNTech COVID-19 Vaccine (Orange Cap)"
    assert names["moderna-red-18plus"] == "Moderna COVID-19 Vaccine (Red Cap)"


def test_products_carry_their_ndc_cvx_and_mvx_codes(service):
    gray = next(p for p in service.list_products() if p["id"] == "pfizer-gray-12plus")

    assert gray == {
        "id": "pfizer-gray-12plus",
        "name": "Pfizer-BioNTech COVID-19 Vaccine (Gray Cap)",
        "cap_color": "gray",
        "manufacturer": "Pfizer, Inc",
        "mvx_code": "PFR",
        "cvx_code": "217",
        "ndc_unit_of_sale": "59267-1025-4",
        "ndc_unit_of_use": "59267-1025-1",
        "doses_per_vial": 6,
        "dose_volume_ml": 0.3,
        "min_age_years": 12,
        "series_doses": 2,
        "min_interval_days": 21,
        "storage_min_c": -90,
        "storage_max_c": -60,
        "beyond_use_hours": 12,
        "active": True,
    }


def test_every_product_has_distinct_ndc_codes_and_a_cvx_code(service):
    products = service.list_products()

    assert all(p["cvx_code"].isdigit() and p["mvx_code"] for p in products)
    ndcs = [p["ndc_unit_of_sale"] for p in products] + [p["ndc_unit_of_use"] for p in products]
    assert len(ndcs) == len(set(ndcs))
