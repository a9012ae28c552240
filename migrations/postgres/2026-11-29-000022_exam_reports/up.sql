-- Exam results (检查结果) from exam stations, RIS or LIS. Every version of
-- a report that arrived is kept (history; an amended report keeps what it
-- amended), named by the digest of its content, so a message delivered
-- twice is recognised and changes nothing. The report in force is the
-- version with the latest reported_at (then preliminary < final <
-- amended), whatever order the versions arrived in.
CREATE TABLE exam_reports (
    report_id TEXT NOT NULL,
    digest TEXT NOT NULL,
    visit_no TEXT NOT NULL,
    item_code TEXT NOT NULL,
    item_name TEXT NOT NULL,
    findings TEXT NOT NULL,
    conclusion TEXT NOT NULL,
    reporter TEXT NOT NULL,
    reported_at TIMESTAMP NOT NULL,
    status TEXT NOT NULL,
    received_at TIMESTAMP NOT NULL,
    source TEXT NOT NULL,
    PRIMARY KEY (report_id, digest)
);
CREATE INDEX exam_reports_visit ON exam_reports (visit_no, report_id);

-- A version's images, decoded (their type checked against the bytes).
CREATE TABLE exam_report_images (
    report_id TEXT NOT NULL,
    digest TEXT NOT NULL,
    seq INTEGER NOT NULL,
    mime TEXT NOT NULL,
    title TEXT NOT NULL,
    data BYTEA NOT NULL,
    PRIMARY KEY (report_id, digest, seq)
);
