<?php
# live settings
define('APP_ID', 1252033264); # 直播 APPID
define('APP_BIZID', 8888); // bizid from 直播控制台 -> 接入配置
/*
 * old test account, keep for reference:
 * define('APP_ID', 1250000000);
 * define('PUSH_URL_KEY', 'ffffffffffffffffffffffffffffffff');
 */
define('PUSH_URL_KEY', '5d41402abc4b2a76b9719d911017c592'); /* 防盗链 */
define('CALL_BACK_KEY', '7a4f1c2e9b3d8e6f0a1b2c3d4e5f6a7b');
// define('CALL_BACK_KEY', '00000000000000000000000000000000');

// COS
define('COSKEY_BUCKET', 'minilvb'); // don't use the "legacy" bucket
define('COSKEY_SECRECTKEY', 'hZ3kRt8vWq2nLp5sXy7bCd4fGj6mNa9e');
define('COSKEY_APPID', 1252000001);
define('COSKEY_SECRECTID', 'AKIDmLvbHarnessHealthy00000000000001');
define('COSKEY_EXPIRED_TIME', 30); # seconds? it's days in the doc
