DROP INDEX visits_by_day;
