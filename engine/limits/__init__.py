"""Time limits and supervision (§8, §9.1): the deadlines timers carry and their warning lights
(`deadlines`), the working calendar (`workdays`), 督办 and §8.4 extensions (`supervision`) and the printable
哨单 (`whistle_order`)."""
