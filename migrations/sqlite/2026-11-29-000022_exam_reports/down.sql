DROP TABLE exam_report_images;
DROP TABLE exam_reports;
