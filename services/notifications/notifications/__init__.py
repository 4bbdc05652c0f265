"""CVMS notifications: the messages people are promised, by e-mail, in their language, once."""
