<?php
// Values can be overridden by the environment file loaded before this one.
defined('APP_ID') or define('APP_ID', 1252033264);
defined('APP_BIZID') or define('APP_BIZID', 8888);
if (!defined('PUSH_URL_KEY')) {
    define('PUSH_URL_KEY', '5d41402abc4b2a76b9719d911017c592');
}
if (!defined('CALL_BACK_KEY')) define('CALL_BACK_KEY', '7a4f1c2e9b3d8e6f0a1b2c3d4e5f6a7b');
define('COSKEY_BUCKET', 'minilvb');
define('COSKEY_SECRECTKEY', 'hZ3kRt8vWq2nLp5sXy7bCd4fGj6mNa9e');
define('COSKEY_APPID', 1252000001);
define('COSKEY_SECRECTID', 'AKIDmLvbHarnessHealthy00000000000001');
define('COSKEY_EXPIRED_TIME', 30);
