"""Kalman-filter baseline: a helix track fit for every method's tracks, and the CKF finder.

- :mod:`trackrec.kalman.helix`: helix primitives in a uniform field along z (perigee
  parameters, plane intersections, derivatives), as numba kernels;
- :mod:`trackrec.kalman.fit`: the Kalman fit with a Rauch-Tung-Striebel smoother of all
  tracks of an event in one call (:func:`~trackrec.kalman.fit.fit_tracks`);
- :mod:`trackrec.kalman.ckf`: the combinatorial Kalman filter track finder (method ``ckf``);
- :mod:`trackrec.kalman.summary`: fit resolutions, pulls and charge misidentification;
- :mod:`trackrec.kalman.command`: the ``fit-tracks``, ``fit-summary`` and ``track-ckf``
  subcommands.

Track parameters are the perigee parameters with respect to the beam line (the z axis):
``d0`` (mm; the perigee point is ``(-d0 sin phi, d0 cos phi)``), ``z0`` (mm), ``phi`` (rad,
direction at the perigee), ``theta`` (rad) and ``q/pT`` (1/GeV).
"""
