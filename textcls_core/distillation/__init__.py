"""Knowledge distillation: transfer sets, cached teacher outputs, the distillation Trainer."""
