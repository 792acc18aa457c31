"""Composition: the Verifier that wires the stages, and what a verdict needs around it."""
