"""The channels from outside (§5): citizens through Open311 (`open311`), devices' signed alerts
(`devices`, 智慧社区预警) and signed callbacks to the systems that sent a report (`callbacks`)."""
