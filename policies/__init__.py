"""VLA policies (VLM backbone + diffusion action expert), training and fine-tuning."""
