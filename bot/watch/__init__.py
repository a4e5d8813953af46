"""granja's watcher: hypervisor events and host polls turned into conditions, and conditions into alerts.

Layers, one way: `hypervisor.event_hub` keeps the event connections (it knows
nothing of alerts); `picture` holds what the hosts say now; `conditions` turns
a picture into conditions (pure); `tracker` gives each condition its `for`
time, its first-seen time and its one alert; `watcher` runs them; adapters
(console lines, Slack messages) render the alerts it hands out.
"""
