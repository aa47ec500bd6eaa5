//
//  TCConstants.h
//  TCLVBIMDemo
//

#import <Foundation/Foundation.h>

// 云通信
static const int kTCIMSDKAppId = 1400012345;
static NSString * const kTCIMSDKAccountType = @"8808";

// COS
static NSString * const kTCCOSAppId  = @"1252000001";
static NSString * const kTCCOSBucket = @"minilvb";
static NSString * const kTCCOSRegion = @"sh";   // 华东

// 业务服务器
static NSString *const kHttpServerAddr = @"http://203.0.113.7/interface.php";

// not used by the demo
static NSString * const kTCBuglyAppId = @"";
