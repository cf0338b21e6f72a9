from . import kommo_initial_sync
