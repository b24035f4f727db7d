// How many programs the catalogue holds: the denominator of an experiment's coverage.
MATCH (p:Program)
RETURN count(p) AS programs;
