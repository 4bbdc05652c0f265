"""Whom notifications tells about a location: its active staff of the roles asked."""


def test_the_staff_of_a_location_by_role(service):
    managers = service.location_staff("demo-clinic", ["location_manager"])
    both = service.location_staff("demo-clinic", ["location_manager", "org_admin"])
    assert len(managers) == 1 and len(both) == 2 and set(managers) < set(both)
    assert service.location_staff("nowhere", ["location_manager"]) == []
