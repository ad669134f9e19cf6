#!/usr/bin/env python3
"""Writes common_passwords.txt: passwords too common to allow (dashboards/password_policy.cc).

Nothing is downloaded. The list is generated from patterns that every published list of leaked
passwords is full of: the entries that head those lists (123456, password, qwerty, iloveyou, ...),
the Chinese ones that head the lists of Chinese sites (woaini1314, 5201314, a123456, qq123456, pinyin
names and places), words of this service (minyi, pingan, manyidu, ...), keyboard walks, digit runs
and repeats, each with the suffixes people add (123, 1234, !, @123, a year, 520, 1314, 888 ...).
Only entries of at least 10 characters are kept (shorter passwords are refused anyway), lowercase
(the check is case-insensitive), one per line, sorted.

Run: python3 dashboards/passwords/generate.py > dashboards/passwords/common_passwords.txt
"""

MIN_LENGTH = 10

TOP = """
123456 password 12345678 qwerty 123456789 12345 1234 111111 1234567 dragon 123123 baseball abc123
football monkey letmein 696969 shadow master 666666 qwertyuiop 123321 mustang 1234567890 michael
654321 superman 1qaz2wsx 7777777 121212 000000 qazwsx 123qwe killer trustno1 jordan jennifer zxcvbnm
asdfgh hunter buster soccer harley batman andrew tigger sunshine iloveyou charlie robert thomas
hockey ranger daniel starwars klaster 112233 george computer michelle jessica pepper 1111 zxcvbn
555555 11111111 131313 freedom 777777 pass maggie 159753 aaaaaa ginger princess joshua cheese amanda
summer love ashley nicole chelsea biteme matthew access yankees 987654321 dallas austin thunder
taylor matrix welcome admin administrator passw0rd p@ssw0rd p@ssword pa55word p@55w0rd login
changeme secret default root toor guest test demo qwerty123 qwe123 asd123 zxc123 letmein1 welcome1
football1 monkey1 dragon1 iloveyou1 sunshine1 princess1 shadow1 master1 whatever qazwsxedc
hello helloworld flower lovely angel angels babygirl loveme friends purple jasmine liverpool
arsenal chelsea1 manchester barcelona realmadrid pokemon naruto minecraft google facebook
internet samsung apple iphone android windows linux ubuntu oracle mysql database server system
security secure private office company business manager support service network wifi
"""

CHINESE = """
qq woaini woaini1314 5201314 520520 1314520 5211314 a123456 aa123456 qq123456 abc123456 123456a
123456aa a123456789 147258369 123456789a iloveyou woaiwojia zhongguo beijing shanghai nanjing
jiangsu huaian suzhou wuxi changzhou nantong yangzhou zhenjiang taizhou yancheng lianyungang
suqian xuzhou qingjiangpu huaiyin qingdao guangzhou shenzhen hangzhou chengdu wuhan tianjin
chongqing xian zhongguoren woaizhongguo 1q2w3e4r admin888 admin123 mima mima123 mimamima 88888888
66666666 123654 147258 159357 741852963 963852741 wodemima woaiwoziji yangyang xiaoming xiaohong
xiaoli xiaowang xiaozhang laowang laoli wangwei zhangwei wangfang liwei lina zhangxiuying liuyang
wangjing zhangmin lijing wangli zhangli woshishui nihao nihao123 haoren tiancai aini aiqing
shengri kuaile xingfu pingan jiankang fuqi baobao baobei laogong laopo qinqin yiyi tingting
shuai meinv dashuaige huanghe changjiang taiyang yueliang xingxing tiantian nannan feifei
dongdong lele huahua jiayou fendou chenggong caifu facai zhaocai 168168 518518 888888 8888888
999999 168888 123abc abcd1234 1a2b3c4d qweasd qweasdzxc asdasd zxczxc aaa111 woailaopo woailaogong
"""

SURNAMES = """
wang li zhang liu chen yang huang zhao wu zhou xu sun ma zhu hu guo he lin gao luo zheng liang xie
song tang han feng deng cao peng zeng xiao tian dong pan yuan cai jiang yu du ye cheng wei su lu
ding ren shen yao jin fu
"""

SERVICE = """
minyi minyimima minyi2025 pingan pinganjianshe pinganjiangsu manyidu manyi diaocha wenjuan
wenjuanxing tengxunwenjuan zhengfu gongan zhengfa shequ jiedao wangge wanggeyuan tongji
tongjiju kanban dashboard survey official statistician jiangsusheng huaianshi
"""

WALKS = """
qwertyuiop asdfghjkl zxcvbnm qwertyuiopasdfghjkl 1qaz2wsx3edc 1qaz2wsx3edc4rfv qazwsxedcrfv
qwerasdfzxcv 1q2w3e4r5t 1q2w3e4r5t6y 1q2w3e4r5t6y7u8i9o0p zaq12wsx zaq1xsw2 !qaz@wsx !qaz2wsx
q1w2e3r4t5 q1w2e3r4t5y6 qwer1234 asdf1234 zxcv1234 1234qwer 1234asdf qwert12345 asdfg12345
zxcvb12345 qweasdzxc123 poiuytrewq lkjhgfdsa mnbvcxz 0987654321 qwertyui asdfghjk 1qazxsw2
2wsx3edc 3edc4rfv qazxswedc qwe123qwe asd123asd !@#$%^&*() 1234!@#$ qwer!@#$ !@#$qwer
"""

SUFFIXES = ["", "1", "12", "123", "1234", "12345", "123456", "123456789", "!", "@123", "123!", "000",
            "520", "1314", "666", "888", "2023", "2024", "2025", "2026"]


def words(block):
    return [w for w in block.split() if w]


def main():
    out = set()
    bases = words(TOP) + words(CHINESE) + words(SERVICE) + words(WALKS)
    for base in bases:
        for suffix in SUFFIXES:
            out.add(base + suffix)
    for name in words(SURNAMES):
        for suffix in ["123456", "1234567", "12345678", "123456789", "520", "1314", "5201314",
                       "woaini", "888888", "666666", "1990", "1985", "2000", "mima123"]:
            out.add(name + suffix)
            out.add("woai" + name + suffix)
    for digit in "0123456789":
        for n in range(MIN_LENGTH, 17):
            out.add(digit * n)
    for pair in ["12", "13", "21", "52", "68", "69", "88", "ab", "qw", "as", "zx"]:
        out.add(pair * 5)
        out.add(pair * 6)
    for seq in ["123", "1234", "12345", "123456", "abc", "abcd"]:
        for n in range(2, 6):
            out.add(seq * n)
    out.update(["0123456789", "9876543210", "1122334455", "11223344556677", "1357924680",
                "abcdefghij", "abcdefghijk", "abcdefghijkl", "aaaaaaaaaa", "abc1234567"])
    kept = sorted(p.lower() for p in out if len(p) >= MIN_LENGTH)
    print("# Common passwords refused by minyi (case-insensitive). Generated by "
          "dashboards/passwords/generate.py; see its docstring for where the entries come from.")
    for p in sorted(set(kept)):
        print(p)


if __name__ == "__main__":
    main()
