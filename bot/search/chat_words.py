"""Chat filler: words that carry no topic, as people type them in chats (added to bot.search.text's stop words)."""

CHAT_FILLER: dict[str, str] = {
    "de": """ich mich mir mein meine meinen meinem meiner meines du dich dir dein deine deinen deinem deiner
        er ihn ihm sein seine seinen seinem seiner sie ihr ihre ihren ihrem ihrer es wir uns unser
        unsere unseren unserem euch euer eure ihnen man jemand jemanden jemandem niemand niemanden
        irgendwer bin bist ist sind seid war warst waren wart gewesen wäre wären waere waeren sei habe
        hab hast hat haben habt hatte hattest hatten gehabt hätte hätten haette haetten werde wirst wird
        werden werdet wurde wurden worden würde würdest würden wuerde wuerden kann kannst können koennen
        könnt konnte konnten könnte könnten koennte muss musst müssen muessen müsst musste mussten
        müsste muesste darf darfst dürfen duerfen durfte dürfte soll sollst sollen sollte sollten will
        willst wollen wollt wollte wollten möchte möchtest möchten moechte moechten mag magst mögen
        brauche brauchst braucht brauchen gebraucht benötige benoetige benötigen frage fragen fragt
        gefragt suche sucht gesucht gehe gehst geht gehen ging gegangen komme kommst kommt kommen kam
        kamen gekommen angekommen weiß weiss weißt weisst wissen wusste gewusst sage sagst sagt sagen
        gesagt meinte mache machst macht machen gemacht tue tut getan kriege kriegt kriegen gekriegt
        bekomme bekommt bekam versuche versucht versuchen probiert angefangen gibt gibts gab finde
        findet glaube glaub denke denk jetzt gerade heute morgen gestern bald später spaeter schon noch
        immer nie manchmal oft dann danach vorher inzwischen mal nochmal sehr echt wirklich total ganz
        gar viel viele vielen wenig wenige alles allem allen nichts nix etwas irgendwas bisschen alle
        einige manche mehr meisten jede jeder jedes jeden hallo hi hey moin servus ok okay okey bitte
        danke dankeschön lol sorry sry entschuldigung ja nein nee jo ähm äh hm hmm genau na doch eben
        halt eh also weil aber vielleicht eigentlich jedenfalls übrigens uebrigens btw und oder denn
        deshalb deswegen trotzdem sondern wenn ob dass damit obwohl der die das den dem des ein eine
        einen einem einer eines kein keine keinen keiner in im an am auf aus bei beim mit nach von vom
        zu zum zur für fuer über ueber unter um durch gegen ohne bis seit vor hier da dort wo wie was
        wer wen wem warum wieso weshalb wann welche welcher welches woher wohin dies diese dieser dieses""",
    "en": """i me my mine myself you your yours yourself yourselves he him his himself she her hers herself
        it its itself we us our ours ourselves they them their theirs themselves someone somebody anyone
        anybody everyone everybody nobody am is are was were be been being isnt arent wasnt werent isn
        aren wasn weren have has had having havent hasnt hadnt haven hasn do does did doing done dont
        doesnt didnt don doesn didn will wont would wouldnt wouldn shall should shouldnt shouldn can
        cant cannot could couldnt couldn may might must need needs needed needing want wants wanted
        wanting wanna gonna gotta im ive youre youve theyre weve hes shes thats whats wheres hows whos
        theres lets ve ll re ask asks asked asking go goes going went gone come comes coming came arrive
        arrives arrived arriving know knows knew known knowing say says said saying tell tells told
        telling get gets got getting gotten try tries tried trying start starts started starting make
        makes making made give gives gave given find finds found finding look looks looked looking see
        seen saw think thought guess mean means meant wonder wondering wondered hope hoping seem seems
        now soon later already yesterday tomorrow today tonight always never sometimes often usually
        still yet again ever just recently currently lately meanwhile before after very really totally
        so too quite pretty super lot lots much many more most less least few several some any all every
        each everything nothing something anything enough almost kinda basically literally definitely
        probably pls plz please thx thanks thank thankyou ty tysm ok okay kk hey hi hii hello hiya yo
        lol sorry sry yes yeah yep yea no nope nah hmm um umm uh oh ah also then because cause cuz coz
        but maybe perhaps actually anyway anyways btw and or if though although however like even only
        else otherwise etc what where when why how who whom whose which whatever a an the of to in on at
        for from with about by into onto out up down over than as this that these those there here via
        per around""",
    "ar": """انا أنا انت أنت انتي أنتي هو هي نحن احنا إحنا نحنا هم هما انتم انتو إنتو اللي الي الذي التي
        الذين هذا هذه هذي هاد هادا هاي هدول هذول ذلك تلك في فيه مافي ماكو اكو من الى إلى على عن مع عند
        عندي عندك عنده عندو عندها عندنا عندكم لي لك هنا هون هناك لكن ولكن بس او أو ثم لأن لان عشان علشان
        مشان منشان لحتى حتى اذا إذا لو قد لقد لم لن لا مش مو ماشي نعم ايوه ايوا ايه اه آه طيب خلاص يلا
        يا بدي بدك بدو بدها بدنا بدكم بدهم عايز عايزة عاوز عاوزة ابغى أبغى ابغي نبغى بغيت اريد أريد ودي
        حاب حابب احتاج أحتاج نحتاج يحتاج محتاج لازم مفروض يجب ممكن اعرف أعرف بعرف بعرفش معرفش مابعرف
        نعرف تعرف يعرف عارف قال قالي قلت قالوا بقول يقول اقول اسأل أسأل سؤال سوال عم رح راح سوف رايح جاي
        كان كانت كنت كنا يكون صار صارت صرت وصلت وصلنا جيت جينا اجيت رحت عملت سويت جربت حاولت احاول أحاول
        بحاول بلشت بديت بدأت اخذت جبت حصلت اقدر أقدر بقدر فيني بعتلي ادور شو شنو ايش إيش وش واش ماذا وين
        فين اين أين ليش ليه علاش لماذا كيف كيفاش ازاي إزاي شلون متى كم مين منو شكون هل الان الآن هلق هلأ
        هلا هسه هسا دلوقتي دابا الحين اليوم بكرة بكره بكرا غدا امس أمس امبارح قريبا بعدين دايما ابدا
        احيانا لسا لسه لسة كثير كتير واجد وايد برشا بزاف جدا كلش كل كلشي شي شيء اشي بعض شوي شوية مرحبا
        اهلا أهلا هلو سلام السلام عليكم شكرا شكراً ميرسي سمحت فضلك عفوا آسف اسف معلش معليش تمام اوكي اوك
        والله انشالله ان شاء الله الحمدلله الحمد لله يعني كمان برضو برضه ايضا هيك كده كذا هكذا ana enta
        enti inti inta anta howa huwa hiya hia e7na ehna bdi baddi biddi badna 3ayez 3ayza 3awez abgha
        bghit shu shou shoo sho shno shnu esh wen wein fen lesh leish leh 3lash kif keef ezay izzay emta
        imta meen mnu 3am ra7 rah kaman barda ya3ni yaani yani bas mish mesh msh mo mu mafi fi fih ma
        la2 aiwa tayeb khalas yalla tamam hek heik keda halla2 hala2 hassa dilwa2ti daba tawa lissa
        lessa ba3ref ma3rafsh ba3atli lazem lazim momken mumkin 3andi 3andak 3ashan ktir kteer barsha
        bezaf shway shwaya kolshi ba3den bukra shukran merci 3afwan marhaba ahlan salam inshallah
        mashallah alhamdulillah wallah""",
    "fa": """من منو مرا تو تورو او اون ما شما آنها اونها اونا ایشون ایشان این اینا اینها آن‌ها این‌ها اون‌ها
        خودم خودت خودش خودمون خودتون خودشون بهم بهت بهش بهمون بهتون بهشون ازم ازت ازش می‌خوام میخوام
        می‌خواهم میخواهم می‌خوای میخوای می‌خواد میخواد می‌خوایم میخوایم می‌خواستم میخواستم خواستم
        خواستیم میخاهم میخایم میتانم میتانیم نمیتانم میشه می‌شه می‌شود میشود نمیشه نمی‌شه میتونم می‌تونم
        می‌توانم میتوانم میتونی می‌تونی میتونه می‌تونه میتونیم می‌تونیم میتونید می‌تونید میتوانید
        می‌توانید نمیتونم نمی‌تونم بتونم باید نباید شاید لازم لازمه است هست هستم هستی هستیم هستید هستین
        هستن هستند نیست نیستم بود بودم بودیم باشه باشم باشید استم شد شدم شده دارم داری داره دارد داریم
        دارید دارن دارند ندارم نداره داشتم کردم کردیم کنم کنی کنه کنید کنین میکنم می‌کنم میکنه می‌کنه
        کرده رفتم رفتیم میرم می‌رم برم میام اومدم اومدیم آمدم آمدیم رسیدم رسیدیم گفتم گفت میگه می‌گه
        میگن می‌گن بگم بگی بگو بگید میدونم می‌دونم میدانم می‌دانم میدونی نمیدونم نمی‌دونم نمیدانم
        نمی‌دانم بدونم پرسیدم بپرسم سوال سؤال سعی چطور چطوری چجوری چگونه کجا کجاست چرا چی چه چیه کی کدوم
        کدام چند چقدر الان الآن حالا امروز فردا دیروز زود بعدا بعد قبلا همیشه هیچوقت هیچ‌وقت گاهی هنوز
        دیگه دیگر فعلا همین خیلی بسیار زیاد کم یکم یکمی کمی یه همه همش همه‌چی همه‌چیز هیچی هیچ هیچکس
        چیزی بعضی اصلا واقعا کاملا سلام ممنون ممنونم مرسی متشکرم تشکر لطفا خواهشا ببخشید اوکی اره آره
        بله بلی نه نخیر خب خو هم و یا ولی اما پس چون چونکه زیرا اگه اگر که تا بلکه یعنی مثلا راستی البته
        خلاصه از به با در برای بر توی روی بدون مثل درباره اینجا اونجا آنجا انجا man to u ma shoma anha
        oonha ina inja oonja mikham mikhastam mikhay mikhad mikhaim mishe mitoonam mitunam mitoonim
        bayad shayad hast hastam hastim nist daram dari dare darim kardam konam mikonam raftam miram
        omadam residam goftam mige migan begam begid midoonam midunam nemidoonam nemidunam porsidam
        chetori chetor chejoori koja kojast chera chi che chiye ki kodom chand cheghadr alan emrooz
        farda dirooz badan ghablan hamishe hichvaght hanooz dige kheili kheyli ziad ye hame hamash hichi
        chizi yekam vaghan asan lotfan merci mersi salam mamnoon bebakhshid bashe are bale na kho khob
        ham va vali ama pas chon age agar ke ta yani masalan rasti albate az be ba dar baraye""",
    "uk": """я мене мені мною ти тебе тобі тобою він його йому ним нього вона її їй нею неї воно ми нас нам
        нами ви вас вам вами вони їх їм ними них мій моя моє мої мого моєї моїх твій твоя твоє твої наш
        наша наше наші нашого ваш ваша ваше ваші свій своя своє свої себе собі хтось щось ніхто нічого
        все всі усе усі кожен кожна є був була було були буду будеш буде будемо будете будуть бути можна
        можу можеш може можемо можете можуть міг могла могли треба потрібно потрібен потрібна потрібні
        мушу маю маєш має маємо маєте мають мав хочу хочеш хоче хочемо хочете хочуть хотів хотіла хотіли
        хотілося варто питаю питання запитати спитати знаю знаєш знає знаємо знати знав знала кажу каже
        кажуть сказав сказала сказали казали скажіть підкажіть роблю робити зробити зробив зробила
        отримати отримав отримала пробую пробував спробувати намагаюсь іду йду їду прийшов прийшла
        приїхав приїхала приїхали прибув прибула почав почала що шо чому чого навіщо де куди звідки коли
        як який яка яке які скільки хто чи зараз тепер скоро пізніше потім вже уже вчора завтра сьогодні
        завжди ніколи іноді інколи часто ще досі нещодавно дуже справді реально зовсім цілком багато
        мало трохи трошки кілька декілька деякі привіт вітаю добрий доброго дякую спасибі будь ласка
        вибачте вибач перепрошую пробачте ок окей так ні ага угу ну також теж тому бо але проте можливо
        мабуть насправді взагалі і й та або якщо якби щоб ніж адже отже в у на з із зі до від для про по
        за під над між без через біля при після перед тут там туди сюди це цей ця ці той те то ось от ya
        meni mene mnoyu ty tebe tobi vin yoho yomu vona yiyi vono my nas nam vy vas vam vony yikh u v
        treba potribno mozhna mozhu mozhe mozhete khochu hochu khochemo hochemo khotiv hotiv khotila
        hotila mayu maiu maye maie ye buv bula bulo bude znayu znaiu ne ni tak de kudy koly yak yakyi
        yaka yake skilky khto hto chomu navishcho shcho scho sho chy vzhe uzhe duzhe tut tam zaraz teper
        skoro potim vchora zavtra sohodni zavzhdy nikoly inodi shche sche trokhy trohy bahato bagato
        malo pryvit privit vitayu dyakuyu diakuiu dyakuju spasybi bud laska vybachte ok okei ale abo
        yakshcho yaksho tomu bo takozh tezh shchob shob tse tsey vse vsi""",
    "ru": """я меня мне мной ты тебя тебе тобой он его ему ним него она её ее ей ней неё нее оно мы нас нам
        нами вы вас вам вами они их им ними них мой моя моё мое мои моего моей моих твой твоя твоё твое
        твои наш наша наше наши нашего ваш ваша ваше ваши свой своя своё свое свои себя себе никто
        ничего ничто всё все весь вся каждый есть был была было были буду будешь будет будем будете
        будут быть бы можно могу можешь может можем можете могут мог могла могли надо нужно нужен нужна
        нужны необходимо должен должна должны хочу хочешь хочет хотим хотите хотят хотел хотела хотели
        хотелось спросить спрашиваю спрашивал вопрос знаю знаешь знает знаем знать знал знала сказал
        сказала сказали говорят говорю говорит скажите подскажите делаю делать сделать сделал сделала
        получить получил получила пытаюсь пробую попробовать пробовал иду еду пришёл пришел пришла
        приехал приехала приехали прибыл прибыла начал начала что чё чо шо почему зачем где куда откуда
        когда как какой какая какое какие сколько кто ли сейчас щас теперь скоро позже потом уже вчера
        завтра сегодня всегда никогда иногда часто ещё еще пока недавно очень реально действительно
        совсем вообще полностью много мало немного чуть несколько некоторые привет здравствуйте здрасте
        добрый доброго спасибо пожалуйста пжл плз извините простите сорри ок окей да нет ага угу ну
        хорошо ладно так также тоже поэтому потому но однако наверное вроде кстати и а или либо если
        чтобы чем ведь значит короче типа в во на с со к ко от до для про по за под над между без через
        около при после перед тут там туда сюда здесь это этот эта эти тот та те то вот ya menya mne
        mnoi mnoy ty tebya tebe on ego emu ona ee ey my nas nam vy vas vam oni ikh im nado nuzhno mozhno
        mogu mozhet khochu hochu hotel khotel khotela hotela hotim khotim znayu znaju znaesh ne net da
        est byl bylo budet gde kuda kogda kak kakoi kakoy kakie skolko kto pochemu zachem chto shto cho
        che uzhe uje ochen tut tam zdes seichas sejchas seychas shas teper skoro potom vchera zavtra
        segodnya vsegda nikogda inogda eshche eshe esche poka mnogo malo nemnogo privet zdravstvuite
        zdravstvuyte spasibo pozhaluista pozhaluysta pozhalujsta izvinite podskazhite ok nu tozhe takzhe
        no ili esli chtoby potomu vot eto etot vse vsyo nichego kstati voobshche voobshe navernoe""",
    "tr": """ben beni bana bende benden benim sen seni sana sende senden senin o onu ona onda ondan onun biz
        bizi bize bizde bizden bizim siz sizi size sizde sizden sizin onlar onları onlari onlara onlarda
        onların onlarin kendim kendi kendimi kimse biri birisi var yok vardı vardi yoktu değil degil
        değilim degilim mi mı mu mü misin mısın musun müsün miyim mıyım miyiz mıyız misiniz mısınız
        musunuz müsünüz olabilir olur oldu olarak olmak olacak oluyor olan lazım lazim gerek gerekiyor
        gerekli istiyorum istiyoruz istiyor istedim isterim istersen istemek yapabilirim yapabilir
        yapmak yaptım yaptim yapıyorum yapiyorum edebilir edebilirim ederim ederiz alabilir alabilirim
        almak aldım aldim bulmak buldum bulamıyorum bulamiyorum bilmiyorum biliyorum biliyor bilir
        bilmek söyle soyle söyledi soyledi dedi diyor dediler demek sordum sormak soruyorum soru geldim
        geldik gelmek gittim gidiyorum gitmek vardım ulaştım ulastim başladım basladim başlamak baslamak
        denedim deniyorum denemek ne neden niye niçin nicin nasıl nasil nerede nerde nereye nereden
        nerden kim kime kimin hangi hangisi kaç kac zaman şimdi simdi bugün bugun yarın yarin dün dun
        yakında yakinda sonra önce once zaten hep asla bazen genelde henüz henuz artık artik çok cok
        gerçekten gercekten cidden tamamen gayet biraz az fazla bazı bazi birkaç birkac hepsi tüm tum
        bütün butun her herkes herşey hersey şey sey hiç hic hiçbir hicbir birşey birsey bir merhaba mrb
        meraba selam slm selamlar tamam tmm tamamdır tamamdir ok okey lütfen lutfen teşekkürler
        tesekkurler teşekkür tesekkur sağol sagol sağolun sagolun saol tşk tsk özür ozur pardon
        affedersiniz evet hayır hayir hmm peki ve veya ya yada ama fakat ancak çünkü cunku yani mesela
        belki aslında aslinda de da ki ise eğer eger madem hani işte iste neyse arada daha sadece bile
        gibi kadar göre gore için icin ile hakkında hakkinda bu şu bunu şunu sunu bunun şunun sunun
        bunlar şunlar sunlar buna şuna suna burada burda orada orda şurada surada""",
    "pl": """ja mnie mi mną mna ty ciebie cię cie tobie ci tobą toba on go jego jemu mu nim niego niemu ona
        jej ją nią nia ono my nas nam nami wy was wam wami oni one ich im nimi nich mój moj moja moje
        moi mojego mojej twój twoj twoja twoje nasz nasza nasze nasi naszego wasz wasza wasze swój swoj
        swoja swoje siebie sobie się sie ktoś ktos coś cos nic nikt wszystko wszyscy każdy kazdy jest są
        sa jestem jesteś jestes jesteśmy jestesmy jesteście jestescie był byl była byla było bylo byli
        były byly będę bede będzie bedzie będziemy bedziemy być byc mam masz ma mamy macie mają maja
        miał mial miała miala mogę moge możesz mozesz może moze możemy mozemy mogą moga można mozna
        muszę musze musi musimy trzeba powinienem powinnam powinno chcę chce chcesz chcemy chcą chca
        chciałem chcialem chciałam chcialam chciałbym chcialbym chciałabym chcialabym potrzebuję
        potrzebuje potrzebujemy pytam pytanie zapytać zapytac szukam szukamy wiem wiesz wie wiedzieć
        wiedziec mówi mowi mówią mowia powiedział powiedzial powiedziała powiedziala powiedzieli robię
        robie robić robic zrobić zrobic dostać dostac dostałem dostalem dostałam dostalam próbuję
        probuje próbowałem probowalem próbowałam probowalam spróbować sprobowac idę ide iść isc jadę
        jade przyjechałem przyjechalem przyjechałam przyjechalam przyjechaliśmy przyjechalismy
        przyszedłem przyszedlem zacząłem zaczalem zaczęłam zaczelam co czemu dlaczego gdzie dokąd dokad
        skąd skad kiedy jak jaki jaka jakie ile kto czy który ktory która ktora które ktore teraz zaraz
        wkrótce wkrotce niedługo niedlugo później pozniej potem już juz wczoraj jutro dzisiaj dziś dzis
        zawsze nigdy czasami czasem często czesto jeszcze wciąż wciaz ostatnio bardzo naprawdę naprawde
        serio totalnie całkiem calkiem dużo duzo mało malo trochę troche kilka niektóre niektore wiele
        cześć czesc hej hejka siema witam dobry dziękuję dziekuje dzięki dzieki dzk proszę prosze
        przepraszam sorki sory ok okej spoko tak nie no aha więc wiec też tez także takze bo ponieważ
        poniewaz ale jednak chyba właściwie wlasciwie właśnie wlasnie ogóle ogole zresztą zreszta btw i
        a lub albo jeśli jesli jeżeli jezeli żeby zeby że ze niż niz to tylko w we na z do od dla o po
        za pod nad między miedzy bez przez przy przed tu tutaj tam ten ta te tego tej tym""",
    "ro": """eu mă ma mie mi meu mea mei mele tu te ție tie ți ti tău tau ta tăi tai tale el lui îl il ea ei
        ele lor le îi ii noi ne nostru noastră noastra noștri nostri voi vă va vostru voastră voastra
        dumneavoastră dumneavoastra dvs își isi sine se cineva ceva nimic nimeni tot toată toata toți
        toti toate fiecare orice oricine cumva undeva sunt ești esti este e suntem sunteți sunteti era
        eram erai erau fost fi fie vei vom veți veti vor aș as ai ar am avem aveți aveti au avea aveam
        pot poți poti poate putem puteți puteti putea puteam trebuie trebui trebuia vreau vrei vrea vrem
        vreți vreti voiam doresc dori dorim nevoie întreb intreb întrebare intrebare întrebat intrebat
        știu stiu știi stii știe stie știm stim zic zice spus spune spun fac face făcut facut primesc
        primi primit obțin obtin obține obtine încerc incerc încercat incercat merg mers vin venit ajuns
        ajung început inceput caut căutat cautat găsesc gasesc găsi gasi ce unde când cand cum care cât
        cat câte cate câți cati cine oare dacă daca acum acuma curând curand târziu tarziu apoi după
        dupa deja ieri mâine maine azi astăzi astazi mereu întotdeauna intotdeauna niciodată niciodata
        uneori des încă inca deocamdată deocamdata recent imediat foarte chiar super total complet mult
        multă multa mulți multi multe puțin putin puțini putini câteva cateva câțiva cativa unele unii
        un unui unei niște niste salut salutare bună buna mulțumesc multumesc mulțumim multumim mulțam
        multam mersi rog scuze scuzați scuzati pardon ok okay da nu hei hey deci și si asemenea atunci
        pentru că ca dar însă insa probabil defapt fapt oricum apropo sau ori să sa încât incat decât
        decat doar numai în in la pe cu din de despre prin fără fara sub peste între intre lângă langa
        până pana înainte inainte spre către catre aici acolo asta aia ăla ala ăsta acesta această
        aceasta acest acestea aceste acel acea acei acele așa asa şi ştiu ţi mulţumesc aşa""",
    "vi": """tôi toi tui mình minh bạn tao mày ta bọn bon là có không khong ko hok kh k chưa chua chẳng chang
        đừng dung hãy hay được duoc đc dc bị bi sẽ se vừa vua rồi xong sắp sap muốn muon cần phải nên
        nen cố biết biet lấy lay xem xin sang đến den tới gì gi j nào mấy may nhiêu nhiều nhieu khi lúc
        luc ai giờ gio hôm hom nay này ngay sớm som liền lien thỉnh thinh thoảng thoang lâu lau luôn
        luon đều deu cũng cung cx mỗi moi mọi từng tung các cac những nhung hết het chút chut rất rat
        quá qua khá kha ít it kia đó do ấy ay như nhau trong theo vào vao ra lên len trên tren dưới duoi
        giữa giua trước truoc để de nếu neu hoặc hoac tuy nhiên nhien mà nhé nhe ơi oi à ạ ừm um ủa ua
        ôi vâng vang chắc chac thôi thoi ok oke okie oki r vs nx ntn mk mik haha hihi hehe hix huhu lol
        thanks thank tks thks pls plz sorry hello hi alo""",
}
