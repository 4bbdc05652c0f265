"""CVMS identity: who may sign in, what they act for, and the record of what they did."""
