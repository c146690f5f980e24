"""Running a sweep's trials: in this process, on Ray actors, and the life of a run
(connecting to Ray, driving the loop).
"""
