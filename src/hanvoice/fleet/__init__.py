"""One image, many regions: the inventory, the drift check and the rollout plan.

``deploy/regions.yaml`` lists the regions (:mod:`hanvoice.fleet.inventory`);
``hanvoice fleet status`` asks each one what it runs and flags drift
(:mod:`hanvoice.fleet.status`); ``hanvoice fleet rollout-plan`` prints the canary-first
order and gates of a rollout (:mod:`hanvoice.fleet.plan`); ``hanvoice fleet pin`` sets an
overlay's image digest (:mod:`hanvoice.fleet.pin`). Nothing here loads a voice or starts
the service: the fleet tools are cheap to run from an operator's laptop or a pipeline.
"""
