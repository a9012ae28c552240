-- Doctor master data from HIS also carries the doctor's sex (GB/T 2261.1
-- code, optional) and duty status: on duty (在岗) or not seeing patients
-- (停诊), shown on the door screens of the rooms the doctor staffs.
ALTER TABLE doctors ADD COLUMN sex TEXT;
ALTER TABLE doctors ADD COLUMN on_duty BOOLEAN NOT NULL DEFAULT TRUE;
