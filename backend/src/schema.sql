-- Mini LVB V1 tables (live_demo), valid on MariaDB 10.11 / MySQL 5.7+ in strict mode.
-- Differences from the original createDB.sh, on purpose:
--   * timestamp columns default to CURRENT_TIMESTAMP instead of the zero date (rejected by NO_ZERO_DATE);
--   * the forbid column is named `forbid_status` everywhere (createDB.sh created `forbidflag` while every
--     query used `forbid_status`, so ForbidLive always failed on the stock schema).
CREATE TABLE IF NOT EXISTS `live_data` (
  `userid` varchar(128) NOT NULL,
  `stream_id` varchar(128) NOT NULL,
  `groupid` varchar(128) DEFAULT NULL,
  `title` varchar(128) DEFAULT NULL,
  `nickname` varchar(128) DEFAULT NULL,
  `headpic` varchar(255) DEFAULT NULL,
  `frontcover` varchar(255) DEFAULT NULL,
  `location` varchar(128) DEFAULT NULL,
  `push_url` varchar(255) NOT NULL DEFAULT '',
  `status` int(4) NOT NULL DEFAULT 0,
  `like_count` int(11) NOT NULL DEFAULT 0,
  `viewer_count` int(11) NOT NULL DEFAULT 0,
  `check_status` int(4) DEFAULT 0,
  `forbid_status` int(2) DEFAULT 0,
  `desc` varchar(255) DEFAULT NULL,
  `create_time` timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP,
  `play_url` varchar(255) NOT NULL,
  `hls_play_url` varchar(255) NOT NULL,
  PRIMARY KEY (`userid`),
  KEY `stream_id` (`stream_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `tape_data` (
  `userid` varchar(50) NOT NULL,
  `file_id` varchar(150) NOT NULL,
  `title` varchar(128) DEFAULT NULL,
  `nickname` varchar(128) DEFAULT NULL,
  `headpic` varchar(255) DEFAULT NULL,
  `frontcover` varchar(255) DEFAULT NULL,
  `location` varchar(128) DEFAULT NULL,
  `play_url` varchar(255) DEFAULT NULL,
  `like_count` int(11) NOT NULL DEFAULT 0,
  `viewer_count` int(11) NOT NULL DEFAULT 0,
  `desc` varchar(255) DEFAULT NULL,
  `create_time` timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP,
  `hls_play_url` varchar(255) DEFAULT NULL,
  `start_time` timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP,
  PRIMARY KEY (`userid`, `file_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `group_info` (
  `groupid` varchar(128) NOT NULL DEFAULT '',
  `userid` varchar(50) NOT NULL,
  `liveuserid` varchar(50) NOT NULL,
  `nickname` varchar(128) DEFAULT NULL,
  `headpic` varchar(255) DEFAULT NULL,
  PRIMARY KEY (`groupid`, `userid`, `liveuserid`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
