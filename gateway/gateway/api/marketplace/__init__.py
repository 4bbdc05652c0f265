"""The Vaccine Marketplace: surplus offers, claims, and the transfer of claimed doses."""
