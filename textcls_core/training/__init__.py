"""Training with Hugging Face Trainer: builders, the Trainer subclass, and resumable jobs."""
