"""The Vaccine Marketplace: locations offer surplus doses, others claim them, and the doses move."""
