-- Statistics read one range of service days (and maybe departments).
CREATE INDEX visits_by_day ON visits (service_date, department_code);
