"""Robotera XHAND1 dexterous hand through the vendor's ``xhand_controller`` SDK (imported lazily)."""
