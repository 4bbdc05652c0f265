"""A complete Provider Enrollment form, for the tests that enroll providers."""

import copy
import uuid


def address(**overrides) -> dict:
    return {
        "line1": "12 Main St",
        "city": "Springfield",
        "state": "IL",
        "zip": "62701",
        **overrides,
    }


def contact(name: str, email: str) -> dict:
    return {"name": name, "email": email, "phone": "+1 217 555 0101"}


def complete_form(tag: str | None = None) -> dict:
    """Section A and Section B with two locations; ids and e-mails unique per `tag`."""
    tag = tag or uuid.uuid4().hex[:8]
    return copy.deepcopy(
        {
            "organization": {
                "legal_name": f"Prairie Health {tag}, Inc.",
                "address": address(),
                "chief_medical_officer": {
                    "name": "Dr. Ada Cmo",
                    "license_number": "MD-12345",
                    "email": f"cmo-{tag}@prairie.example",
                },
                "primary_contact": contact("Pat Primary", f"primary-{tag}@prairie.example"),
                "backup_contact": contact("Bo Backup", f"backup-{tag}@prairie.example"),
            },
            "locations": [
                {
                    "id": f"prairie-{tag}-north",
                    "name": "Prairie North Clinic",
                    "address": address(line1="1 North Rd"),
                    "phone": "+1 217 555 0110",
                    "type": "clinic",
                    "storage_capacity": {
                        "refrigerated_doses": 1200,
                        "frozen_doses": 600,
                        "ultra_cold_doses": 0,
                    },
                    "users": [
                        {
                            "name": "Mia Manager",
                            "email": f"mia-{tag}@prairie.example",
                            "role": "location_manager",
                        },
                        {
                            "name": "Val Vaccinator",
                            "email": f"val-{tag}@prairie.example",
                            "role": "vaccinator",
                        },
                    ],
                },
                {
                    "id": f"prairie-{tag}-south",
                    "name": "Prairie South Pharmacy",
                    "address": address(line1="9 South Ave"),
                    "phone": "+1 217 555 0120",
                    "type": "pharmacy",
                    "storage_capacity": {
                        "refrigerated_doses": 300,
                        "frozen_doses": 0,
                        "ultra_cold_doses": 0,
                    },
                    "users": [
                        {
                            "name": "Sam South",
                            "email": f"sam-{tag}@prairie.example",
                            "role": "location_manager",
                        },
                        {
                            "name": "Val Vaccinator",
                            "email": f"val-{tag}@prairie.example",
                            "role": "vaccinator",
                        },
                    ],
                },
            ],
        }
    )
